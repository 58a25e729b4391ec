"""ReLU over a 257 x 300 float32 matrix: 77,100 elements, a multiple of no power-of-two block,
so a blocked kernel's last block must mask. Small enough for Triton's CPU interpreter in tests.
"""
import torch
import torch.nn as nn

M, N = 257, 300


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def get_inputs():
    return [torch.randn(M, N)]


def get_init_inputs():
    return []
