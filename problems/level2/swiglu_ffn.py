"""SwiGLU feed-forward block (LLaMA-style): y = W2 (silu(W1 x) * (W3 x)), no biases.

x: 4096 x 1024 float32 (tokens x model dim); W1, W3: 2816 x 1024 and W2: 1024 x 2816
(nn.Linear(..., bias=False), default init); silu(z) = z * sigmoid(z); y is 4096 x 1024.
~71 GFLOP, ~68 MB (17 MB in, 35 MB weights, 17 MB out).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

TOKENS, DIM, HIDDEN = 4096, 1024, 2816


class Model(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


def get_inputs():
    return [torch.randn(TOKENS, DIM)]


def get_init_inputs():
    return [DIM, HIDDEN]
