"""Layer normalization with affine parameters over the last dimension of x: 32 x 2048 x 1024, float32.

mu, var = mean and biased variance of x[b, s, :]; y = (x - mu) / sqrt(var + 1e-5) * weight + bias,
with weight, bias of shape (1024,) (nn.LayerNorm, parameters drawn at random in __init__ so that
they matter: weight ~ 1 + 0.5 * N(0, 1), bias ~ 0.5 * N(0, 1)); x ~ 3 * N(0, 1) + 1.
~0.6 GFLOP, ~540 MB (268 MB in, 268 MB out): memory-bound, ~150 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn

BATCH, SEQ, HIDDEN = 32, 2048, 1024
EPS = 1e-5


class Model(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden, eps=EPS)
        with torch.no_grad():
            self.norm.weight.copy_(1.0 + 0.5 * torch.randn(hidden))
            self.norm.bias.copy_(0.5 * torch.randn(hidden))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


def get_inputs():
    return [torch.randn(BATCH, SEQ, HIDDEN) * 3.0 + 1.0]


def get_init_inputs():
    return [HIDDEN]
