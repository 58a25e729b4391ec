"""Classifier head of a ResNet: ReLU -> global average pooling -> Linear.

x: 2048 x 2048 x 7 x 7 float32 (pre-activation features); p[n, c] = mean over the 7 x 7 positions
of relu(x[n, c]); y = p @ W^T + b with W: 1000 x 2048, b: 1000 (nn.Linear(2048, 1000));
y is 2048 x 1000.
~8.4 GFLOP, ~840 MB (822 MB in, 8 MB weights, 8 MB out): memory-bound, ~240 us of DRAM traffic on an H200
(the matmul alone is ~190 us at fp32 peak without TF32).
"""
import torch
import torch.nn as nn

BATCH, CHANNELS, H, W, CLASSES = 2048, 2048, 7, 7, 1000


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
