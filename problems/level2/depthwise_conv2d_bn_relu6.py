"""Depthwise 3x3 Conv2d (no bias) -> BatchNorm2d (batch statistics) -> ReLU6: a MobileNetV2 step.

x: 128 x 192 x 56 x 56 float32. z = depthwise conv2d(x, W), W: 192 x 1 x 3 x 3, padding 1,
groups 192, no bias; per channel c: mu_c, var_c = mean and biased variance of z[:, c] over batch
and space, u = (z - mu_c) / sqrt(var_c + 1e-5) * gamma[c] + beta[c]; y = min(max(u, 0), 6).
BatchNorm2d(track_running_stats=False): batch statistics in train and eval mode alike.
gamma ~ 2 + N(0, 1), beta ~ 1 + N(0, 1) drawn in __init__, so both clamps of ReLU6 are active.
~1.6 GFLOP, ~620 MB (308 MB in, 308 MB out): memory-bound, ~175 us of DRAM traffic
on an H200 if the BN statistics pass is fused away (more otherwise).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, CHANNELS, H, W = 128, 192, 56, 56
EPS = 1e-5


class Model(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False)
        self.bn = nn.BatchNorm2d(channels, eps=EPS, track_running_stats=False)
        with torch.no_grad():
            self.bn.weight.copy_(2.0 + torch.randn(channels))
            self.bn.bias.copy_(1.0 + torch.randn(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self.bn(self.conv(x)))


def get_inputs():
    return [torch.randn(BATCH, CHANNELS, H, W)]


def get_init_inputs():
    return [CHANNELS]
