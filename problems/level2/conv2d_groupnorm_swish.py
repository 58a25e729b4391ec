"""Conv2d -> GroupNorm -> Swish (SiLU).

x: 32 x 128 x 64 x 64 float32. z = conv2d(x, W) + bias with W: 128 x 128 x 3 x 3, padding 1;
GroupNorm with 32 groups of 4 channels: per (sample, group) mean and biased variance over the
group's channels and space, u = (z - mu) / sqrt(var + 1e-5) * gamma[c] + beta[c]
(gamma ~ 1 + 0.5 * N(0, 1), beta ~ 0.5 * N(0, 1) drawn in __init__); y = u * sigmoid(u).
y is 32 x 128 x 64 x 64.
~39 GFLOP, ~135 MB (67 MB in, 67 MB out).
"""
import torch
import torch.nn as nn

BATCH, C_IN, C_OUT, H, W, GROUPS = 32, 128, 128, 64, 64, 32
EPS = 1e-5


class Model(nn.Module):
    def __init__(self, c_in: int, c_out: int, groups: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=True)
        self.norm = nn.GroupNorm(groups, c_out, eps=EPS)
        with torch.no_grad():
            self.norm.weight.copy_(1.0 + 0.5 * torch.randn(c_out))
            self.norm.bias.copy_(0.5 * torch.randn(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.norm(self.conv(x))
        return u * torch.sigmoid(u)


def get_inputs():
    return [torch.randn(BATCH, C_IN, H, W)]


def get_init_inputs():
    return [C_IN, C_OUT, GROUPS]
