"""Classifier head of a ResNet: ReLU -> global average pooling -> Linear.

x: 512 x 2048 x 7 x 7 float32 (pre-activation features); p[n, c] = mean over the 7 x 7 positions
of relu(x[n, c]); y = p @ W^T + b with W: 1000 x 2048, b: 1000 (nn.Linear(2048, 1000));
y is 512 x 1000.
~2.1 GFLOP, ~215 MB (205 MB in, 8 MB weights, 2 MB out): memory-bound, ~50 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn

BATCH, CHANNELS, H, W, CLASSES = 512, 2048, 7, 7, 1000


class Model(nn.Module):
    def __init__(self, channels: int, classes: int):
        super().__init__()
        self.fc = nn.Linear(channels, classes, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.relu(x).mean(dim=(2, 3))
        return self.fc(pooled)


def get_inputs():
    return [torch.randn(BATCH, CHANNELS, H, W)]


def get_init_inputs():
    return [CHANNELS, CLASSES]
