"""Residual add followed by RMSNorm (the pre-norm transformer's per-layer step).

x, residual: 32768 x 2048 float32; h = x + residual;
y[i, j] = h[i, j] / sqrt(mean_k h[i, k]^2 + 1e-6) * weight[j], weight (2048,) ~ 1 + 0.5 * N(0, 1)
drawn in __init__; y is 32768 x 2048 (only the normalized tensor is returned).
~0.4 GFLOP, ~805 MB (2 x 268 MB in, 268 MB out): memory-bound, ~230 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn

ROWS, HIDDEN = 32768, 2048
EPS = 1e-6


class Model(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.weight = nn.Parameter(1.0 + 0.5 * torch.randn(hidden))

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        h = x + residual
        return h * torch.rsqrt(h.pow(2).mean(dim=-1, keepdim=True) + EPS) * self.weight


def get_inputs():
    return [torch.randn(ROWS, HIDDEN), torch.randn(ROWS, HIDDEN)]


def get_init_inputs():
    return [HIDDEN]
