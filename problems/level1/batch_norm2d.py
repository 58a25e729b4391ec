"""2-D batch normalization with batch statistics on x of shape 64 x 64 x 128 x 128, float32.

For each channel c: mu_c, var_c = mean and biased variance of x[:, c, :, :] over batch and space;
y = (x - mu_c) / sqrt(var_c + 1e-5) * weight[c] + bias[c].
nn.BatchNorm2d(64, track_running_stats=False): it always normalizes with the statistics of the batch
it is given (train and eval mode alike) and keeps no running buffers. weight ~ 1 + 0.5 * N(0, 1) and
bias ~ 0.5 * N(0, 1) are drawn in __init__ so that they matter. Each channel of x gets its own
offset and scale (x = N(0, 1) * (1 + rand) + 2 * N(0, 1) per channel).
~0.6 GFLOP, ~540 MB (268 MB in, 268 MB out), two passes over x unless fused cleverly: memory-bound,
~150 us of DRAM traffic on an H200 with one read of x (~230 us with two).
"""
import torch
import torch.nn as nn

BATCH, CHANNELS, H, W = 64, 64, 128, 128
EPS = 1e-5


class Model(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, eps=EPS, track_running_stats=False)
        with torch.no_grad():
            self.bn.weight.copy_(1.0 + 0.5 * torch.randn(channels))
            self.bn.bias.copy_(0.5 * torch.randn(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(x)


def get_inputs():
    scale = 1.0 + torch.rand(1, CHANNELS, 1, 1)
    shift = 2.0 * torch.randn(1, CHANNELS, 1, 1)
    return [torch.randn(BATCH, CHANNELS, H, W) * scale + shift]


def get_init_inputs():
    return [CHANNELS]
