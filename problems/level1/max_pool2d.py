"""2-D max pooling, kernel 3, stride 2, padding 1, on x of shape 64 x 128 x 128 x 128, float32.

y[n, c, p, q] = max over i, j in 0..2 of x[n, c, 2p - 1 + i, 2q - 1 + j] (padding never wins);
y is 64 x 128 x 64 x 64.
~0.3 GFLOP (comparisons), ~670 MB (537 MB in, 134 MB out): memory-bound, ~190 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn

BATCH, CHANNELS, H, W = 64, 128, 128, 128
KSIZE, STRIDE, PAD = 3, 2, 1


class Model(nn.Module):
    def __init__(self, ksize: int, stride: int, pad: int):
        super().__init__()
        self.pool = nn.MaxPool2d(ksize, stride=stride, padding=pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)


def get_inputs():
    return [torch.randn(BATCH, CHANNELS, H, W)]


def get_init_inputs():
    return [KSIZE, STRIDE, PAD]
