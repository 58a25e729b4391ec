"""2-D convolution: nn.Conv2d(128, 256, kernel_size=3, padding=1, bias=True).

x: 32 x 128 x 56 x 56 float32.
y[n, o, h, w] = bias[o] + sum_{c, i, j} W[o, c, i, j] * x[n, c, h + i - 1, w + j - 1] (zero padding);
y is 32 x 256 x 56 x 56.
~59 GFLOP, ~155 MB (51 MB in, 103 MB out, 1 MB weights).
"""
import torch
import torch.nn as nn

BATCH, C_IN, C_OUT, H, W, KSIZE = 32, 128, 256, 56, 56, 3


class Model(nn.Module):
    def __init__(self, c_in: int, c_out: int, ksize: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, ksize, padding=ksize // 2, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def get_inputs():
    return [torch.randn(BATCH, C_IN, H, W)]


def get_init_inputs():
    return [C_IN, C_OUT, KSIZE]
