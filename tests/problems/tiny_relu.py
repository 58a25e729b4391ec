"""ReLU over 1024 float32 elements: 8 KiB of traffic, so the cost is all launch and Python
overhead (launch-bound). For fast tests.
"""
import torch
import torch.nn as nn

N = 1024


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def get_inputs():
    return [torch.randn(N)]


def get_init_inputs():
    return []
