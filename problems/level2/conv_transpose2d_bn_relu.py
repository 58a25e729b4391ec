"""ConvTranspose2d (2x up, no bias) -> BatchNorm2d (batch statistics) -> ReLU: a DCGAN generator layer.

x: 32 x 256 x 32 x 32 float32. z = conv_transpose2d(x, W), W: 256 x 128 x 4 x 4, stride 2,
padding 1, no bias, so z is 32 x 128 x 64 x 64; per channel c: mu_c, var_c = mean and biased
variance of z[:, c] over batch and space, y = relu((z - mu_c) / sqrt(var_c + 1e-5) * gamma[c] + beta[c]).
BatchNorm2d(track_running_stats=False): batch statistics in train and eval mode alike.
gamma ~ 1 + 0.5 * N(0, 1), beta ~ 0.5 * N(0, 1) drawn in __init__.
~34 GFLOP, ~100 MB (34 MB in, 2 MB weights, 67 MB out).
"""
import torch
import torch.nn as nn

BATCH, C_IN, C_OUT, H, W = 32, 256, 128, 32, 32
EPS = 1e-5
# cuDNN's default algorithm for this transposed convolution is not bitwise reproducible: repeated
# calls on the same input differed in the last bits on an H200 (far inside the tolerances).
NONDETERMINISTIC = True


class Model(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=EPS, track_running_stats=False)
        with torch.no_grad():
            self.bn.weight.copy_(1.0 + 0.5 * torch.randn(c_out))
            self.bn.bias.copy_(0.5 * torch.randn(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.deconv(x)))


def get_inputs():
    return [torch.randn(BATCH, C_IN, H, W)]


def get_init_inputs():
    return [C_IN, C_OUT]
