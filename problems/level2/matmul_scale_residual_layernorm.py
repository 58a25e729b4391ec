"""Projection, scaled residual add, LayerNorm (a post-norm transformer sublayer's tail).

x, residual: 16384 x 1024 float32; W: 1024 x 1024, b: 1024 (nn.Linear(1024, 1024));
h = (x @ W^T + b) * 0.5 + residual; y = LayerNorm(h) over the last dim with eps 1e-5 and affine
gamma ~ 1 + 0.5 * N(0, 1), beta ~ 0.5 * N(0, 1) drawn in __init__; y is 16384 x 1024.
~34 GFLOP, ~205 MB (2 x 67 MB in, 4 MB weights, 67 MB out).
"""
import torch
import torch.nn as nn

ROWS, HIDDEN = 16384, 1024
SCALE = 0.5
EPS = 1e-5


class Model(nn.Module):
    def __init__(self, hidden: int, scale: float):
        super().__init__()
        self.proj = nn.Linear(hidden, hidden, bias=True)
        self.norm = nn.LayerNorm(hidden, eps=EPS)
        self.scale = scale
        with torch.no_grad():
            self.norm.weight.copy_(1.0 + 0.5 * torch.randn(hidden))
            self.norm.bias.copy_(0.5 * torch.randn(hidden))

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x) * self.scale + residual)


def get_inputs():
    return [torch.randn(ROWS, HIDDEN), torch.randn(ROWS, HIDDEN)]


def get_init_inputs():
    return [HIDDEN, SCALE]
