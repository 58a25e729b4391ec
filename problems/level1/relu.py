"""ReLU over a 4096 x 4096 float32 matrix: y = max(x, 0), elementwise.

64 MiB in, 64 MiB out: memory-bound, about 30 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn

M, N = 4096, 4096


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def get_inputs():
    return [torch.randn(M, N)]


def get_init_inputs():
    return []
