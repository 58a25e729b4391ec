"""ResNet-50 bottleneck block (identity shortcut): 1x1, 3x3, 1x1 convs with BN, residual add, ReLU.

x: 32 x 256 x 56 x 56 float32. conv1: 1x1, 256 -> 64; conv2: 3x3, 64 -> 64, padding 1;
conv3: 1x1, 64 -> 256; no conv biases. Each conv is followed by BatchNorm2d with
track_running_stats=False (per-channel batch statistics, biased variance, eps 1e-5, in train and
eval mode alike; gamma ~ 1 + 0.5 * N(0, 1), beta ~ 0.5 * N(0, 1) drawn in __init__).
y = relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + x); y is 32 x 256 x 56 x 56.
~14 GFLOP, ~205 MB (103 MB in, 0.3 MB weights, 103 MB out; ~25 MB per intermediate).
"""
import torch
import torch.nn as nn

BATCH, CHANNELS, WIDTH, H, W = 32, 256, 64, 56, 56
EPS = 1e-5


class Model(nn.Module):
    def __init__(self, channels: int, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width, eps=EPS, track_running_stats=False)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width, eps=EPS, track_running_stats=False)
        self.conv3 = nn.Conv2d(width, channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels, eps=EPS, track_running_stats=False)
        with torch.no_grad():
            for bn in (self.bn1, self.bn2, self.bn3):
                bn.weight.copy_(1.0 + 0.5 * torch.randn(bn.num_features))
                bn.bias.copy_(0.5 * torch.randn(bn.num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + x)


def get_inputs():
    return [torch.randn(BATCH, CHANNELS, H, W)]


def get_init_inputs():
    return [CHANNELS, WIDTH]
