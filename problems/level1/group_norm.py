"""Group normalization: nn.GroupNorm(32 groups, 256 channels) on x of 64 x 256 x 64 x 64, float32.

Channels are split into 32 groups of 8; for each (sample n, group g): mu, var = mean and biased
variance of x[n, 8g:8g+8, :, :]; y = (x - mu) / sqrt(var + 1e-5) * weight[c] + bias[c].
weight ~ 1 + 0.5 * N(0, 1), bias ~ 0.5 * N(0, 1) are drawn in __init__ so that they matter;
x ~ 2 * N(0, 1) + 1.
~0.6 GFLOP, ~540 MB (268 MB in, 268 MB out): memory-bound, ~150 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn

BATCH, CHANNELS, GROUPS, H, W = 64, 256, 32, 64, 64
EPS = 1e-5


class Model(nn.Module):
    def __init__(self, groups: int, channels: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, eps=EPS)
        with torch.no_grad():
            self.norm.weight.copy_(1.0 + 0.5 * torch.randn(channels))
            self.norm.bias.copy_(0.5 * torch.randn(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


def get_inputs():
    return [torch.randn(BATCH, CHANNELS, H, W) * 2.0 + 1.0]


def get_init_inputs():
    return [GROUPS, CHANNELS]
