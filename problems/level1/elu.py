"""ELU with alpha 1.0, elementwise over a 16384 x 4096 float32 matrix.

y = x if x > 0 else alpha * (exp(x) - 1); x ~ 2 * N(0, 1).
~0.2 GFLOP, ~540 MB (268 MB in, 268 MB out): memory-bound, ~150 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

M, N = 16384, 4096
ALPHA = 1.0


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.elu(x, alpha=ALPHA)


def get_inputs():
    return [torch.randn(M, N) * 2.0]


def get_init_inputs():
    return []
