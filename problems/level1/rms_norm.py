"""RMS normalization over the last dimension of x of shape 32768 x 2048, float32 (as in LLaMA).

y[i, j] = x[i, j] / sqrt(mean_k x[i, k]^2 + 1e-6) * weight[j], weight of shape (2048,)
drawn in __init__ as 1 + 0.5 * N(0, 1); x ~ 2 * N(0, 1).
~0.2 GFLOP, ~540 MB (268 MB in, 268 MB out): memory-bound, ~150 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn

ROWS, HIDDEN = 32768, 2048
EPS = 1e-6


class Model(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.weight = nn.Parameter(1.0 + 0.5 * torch.randn(hidden))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rms = torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + EPS)
        return x * rms * self.weight


def get_inputs():
    return [torch.randn(ROWS, HIDDEN) * 2.0]


def get_init_inputs():
    return [HIDDEN]
