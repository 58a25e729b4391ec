"""Conv2d (no bias) -> BatchNorm2d with batch statistics -> ReLU, as in a ResNet/VGG stage.

x: 32 x 128 x 56 x 56 float32. z = conv2d(x, W) with W: 256 x 128 x 3 x 3, padding 1, no bias;
for each channel c: mu_c, var_c = mean and biased variance of z[:, c] over batch and space,
u = (z - mu_c) / sqrt(var_c + 1e-5) * gamma[c] + beta[c]; y = relu(u); y is 32 x 256 x 56 x 56.
BatchNorm2d(track_running_stats=False): batch statistics in train and eval mode alike, no running
buffers. gamma ~ 1 + 0.5 * N(0, 1), beta ~ 0.5 * N(0, 1) drawn in __init__ so that they matter.
~59 GFLOP, ~155 MB (51 MB in, 1 MB weights, 103 MB out).
"""
import torch
import torch.nn as nn

BATCH, C_IN, C_OUT, H, W = 32, 128, 256, 56, 56
EPS = 1e-5


class Model(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=EPS, track_running_stats=False)
        with torch.no_grad():
            self.bn.weight.copy_(1.0 + 0.5 * torch.randn(c_out))
            self.bn.bias.copy_(0.5 * torch.randn(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


def get_inputs():
    return [torch.randn(BATCH, C_IN, H, W)]


def get_init_inputs():
    return [C_IN, C_OUT]
