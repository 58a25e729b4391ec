"""Conv2d -> ReLU -> 2x2 max pooling (a VGG stage).

x: 16 x 64 x 112 x 112 float32. z = conv2d(x, W) + bias with W: 128 x 64 x 3 x 3, padding 1;
y = max_pool2d(relu(z), kernel 2, stride 2); y is 16 x 128 x 56 x 56.
~30 GFLOP, ~77 MB (51 MB in, 26 MB out); the unfused reference also writes and reads the
103 MB conv output.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, C_IN, C_OUT, H, W = 16, 64, 128, 112, 112


class Model(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(torch.relu(self.conv(x)), kernel_size=2, stride=2)


def get_inputs():
    return [torch.randn(BATCH, C_IN, H, W)]


def get_init_inputs():
    return [C_IN, C_OUT]
