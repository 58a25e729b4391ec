"""1-D convolution: nn.Conv1d(256, 256, kernel_size=3, padding=1, bias=True).

x: 32 x 256 x 4096 float32.
y[n, o, l] = bias[o] + sum_{c, t} w[o, c, t] * x[n, c, l + t - 1] (zero padding); y is 32 x 256 x 4096.
~52 GFLOP, ~270 MB (134 MB in, 134 MB out).
"""
import torch
import torch.nn as nn

BATCH, C_IN, C_OUT, LENGTH, KSIZE = 32, 256, 256, 4096, 3


class Model(nn.Module):
    def __init__(self, c_in: int, c_out: int, ksize: int):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, ksize, padding=ksize // 2, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def get_inputs():
    return [torch.randn(BATCH, C_IN, LENGTH)]


def get_init_inputs():
    return [C_IN, C_OUT, KSIZE]
