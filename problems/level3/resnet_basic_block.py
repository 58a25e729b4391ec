"""ResNet basic block (identity shortcut): y = relu(bn2(conv2(relu(bn1(conv1(x))))) + x).

x: 32 x 128 x 56 x 56 float32; conv1, conv2: 3x3, 128 -> 128, padding 1, no bias;
bn1, bn2: BatchNorm2d(128, track_running_stats=False), i.e. per-channel batch statistics
(mean and biased variance over batch and space, eps 1e-5) in train and eval mode alike, with
gamma ~ 1 + 0.5 * N(0, 1), beta ~ 0.5 * N(0, 1) drawn in __init__; y is 32 x 128 x 56 x 56.
~59 GFLOP, ~105 MB (51 MB in, 1 MB weights, 51 MB out).
"""
import torch
import torch.nn as nn

BATCH, CHANNELS, H, W = 32, 128, 56, 56
EPS = 1e-5


class Model(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels, eps=EPS, track_running_stats=False)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels, eps=EPS, track_running_stats=False)
        with torch.no_grad():
            for bn in (self.bn1, self.bn2):
                bn.weight.copy_(1.0 + 0.5 * torch.randn(channels))
                bn.bias.copy_(0.5 * torch.randn(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + x)


def get_inputs():
    return [torch.randn(BATCH, CHANNELS, H, W)]


def get_init_inputs():
    return [CHANNELS]
