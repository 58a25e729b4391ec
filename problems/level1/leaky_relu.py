"""Leaky ReLU with negative slope 0.1, elementwise over a 16384 x 4096 float32 matrix.

y = x if x >= 0 else 0.1 * x; x ~ N(0, 1).
~0.07 GFLOP, ~540 MB (268 MB in, 268 MB out): memory-bound, ~150 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

M, N = 16384, 4096
NEGATIVE_SLOPE = 0.1


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, negative_slope=NEGATIVE_SLOPE)


def get_inputs():
    return [torch.randn(M, N)]


def get_init_inputs():
    return []
