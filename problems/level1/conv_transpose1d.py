"""1-D transposed convolution (2x upsampling): nn.ConvTranspose1d(256, 128, 4, stride=2, padding=1).

x: 32 x 256 x 2048 float32; with bias.
y[n, o, p] = bias[o] + sum_{c, l, t : 2l - 1 + t = p} x[n, c, l] * W[c, o, t]; y is 32 x 128 x 4096.
~17 GFLOP, ~135 MB (67 MB in, 67 MB out).
"""
import torch
import torch.nn as nn

BATCH, C_IN, C_OUT, LENGTH = 32, 256, 128, 2048
KSIZE, STRIDE, PAD = 4, 2, 1


class Model(nn.Module):
    def __init__(self, c_in: int, c_out: int, ksize: int, stride: int, pad: int):
        super().__init__()
        self.deconv = nn.ConvTranspose1d(c_in, c_out, ksize, stride=stride, padding=pad, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv(x)


def get_inputs():
    return [torch.randn(BATCH, C_IN, LENGTH)]


def get_init_inputs():
    return [C_IN, C_OUT, KSIZE, STRIDE, PAD]
