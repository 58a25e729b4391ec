"""3-D convolution: nn.Conv3d(32, 64, kernel_size=3, padding=1, bias=True).

x: 8 x 32 x 16 x 64 x 64 float32 (batch, channels, depth, height, width).
y[n, o, d, h, w] = bias[o] + sum_{c, i, j, k} W[o, c, i, j, k] * x[n, c, d + i - 1, h + j - 1, w + k - 1]
(zero padding); y is 8 x 64 x 16 x 64 x 64.
~29 GFLOP, ~200 MB (67 MB in, 134 MB out).
"""
import torch
import torch.nn as nn

BATCH, C_IN, C_OUT, D, H, W, KSIZE = 8, 32, 64, 16, 64, 64, 3


class Model(nn.Module):
    def __init__(self, c_in: int, c_out: int, ksize: int):
        super().__init__()
        self.conv = nn.Conv3d(c_in, c_out, ksize, padding=ksize // 2, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def get_inputs():
    return [torch.randn(BATCH, C_IN, D, H, W)]


def get_init_inputs():
    return [C_IN, C_OUT, KSIZE]
