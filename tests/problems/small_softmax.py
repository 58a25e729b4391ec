"""Softmax over the last dimension of a 32 x 1000 float32 matrix (rows not a power of two wide).
problems/level1/softmax.py in miniature, for Triton's CPU interpreter in tests.
"""
import torch
import torch.nn as nn

M, N = 32, 1000


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x, dim=-1)


def get_inputs():
    return [torch.randn(M, N) * 4.0]


def get_init_inputs():
    return []
