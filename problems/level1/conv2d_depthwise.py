"""Depthwise 2-D convolution: nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=384, bias=True)
on x of 64 x 384 x 56 x 56, float32.

y[n, c, h, w] = bias[c] + sum_{i, j} W[c, 0, i, j] * x[n, c, h + i - 1, w + j - 1] (zero padding);
y has the shape of x.
~1.4 GFLOP, ~620 MB (308 MB in, 308 MB out): memory-bound, ~175 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn

BATCH, CHANNELS, H, W, KSIZE = 64, 384, 56, 56, 3


class Model(nn.Module):
    def __init__(self, channels: int, ksize: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, ksize, padding=ksize // 2, groups=channels, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def get_inputs():
    return [torch.randn(BATCH, CHANNELS, H, W)]


def get_init_inputs():
    return [CHANNELS, KSIZE]
