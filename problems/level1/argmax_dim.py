"""Argmax over the last dimension of x of shape 131072 x 1024, float32; output int64.

y[i] = the index k in 0..1023 maximizing x[i, k] (x is continuous random data, so ties do not occur);
y has shape (131072,) and dtype torch.int64.
~0.13 GFLOP (comparisons), ~540 MB read: memory-bound, ~150 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn

M, N = 131072, 1024
DIM = -1


class Model(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.argmax(x, dim=self.dim)


def get_inputs():
    return [torch.randn(M, N)]


def get_init_inputs():
    return [DIM]
