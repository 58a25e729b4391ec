"""Sigmoid, elementwise over a 16384 x 4096 float32 matrix.

y = 1 / (1 + exp(-x)); x ~ 3 * N(0, 1).
~0.2 GFLOP, ~540 MB (268 MB in, 268 MB out): memory-bound, ~150 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn

M, N = 16384, 4096


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x)


def get_inputs():
    return [torch.randn(M, N) * 3.0]


def get_init_inputs():
    return []
