"""Strided Conv1d (no bias) -> LayerNorm over channels -> GELU (a wav2vec2 feature-encoder layer).

x: 16 x 512 x 4096 float32 (batch, channels, time). z = conv1d(x, W), W: 512 x 512 x 3,
stride 2, padding 1, no bias, so z is 16 x 512 x 2048; at every (batch, time) position z is
normalized over its 512 channels: u = (z - mu) / sqrt(var + 1e-5) * gamma[c] + beta[c]
(biased variance; gamma ~ 1 + 0.5 * N(0, 1), beta ~ 0.5 * N(0, 1) drawn in __init__);
y = gelu(u), erf form; y is 16 x 512 x 2048.
~52 GFLOP, ~200 MB (134 MB in, 3 MB weights, 67 MB out).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, CHANNELS, LENGTH = 16, 512, 4096
EPS = 1e-5


class Model(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, stride=2, padding=1, bias=False)
        self.norm = nn.LayerNorm(channels, eps=EPS)
        with torch.no_grad():
            self.norm.weight.copy_(1.0 + 0.5 * torch.randn(channels))
            self.norm.bias.copy_(0.5 * torch.randn(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.conv(x)
        u = self.norm(z.transpose(1, 2)).transpose(1, 2)
        return F.gelu(u)


def get_inputs():
    return [torch.randn(BATCH, CHANNELS, LENGTH)]


def get_init_inputs():
    return [CHANNELS]
