"""ReLU over a 1024 x 1024 float32 matrix (4 MiB in, 4 MiB out). For fast tests."""
import torch
import torch.nn as nn

M, N = 1024, 1024


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def get_inputs():
    return [torch.randn(M, N)]


def get_init_inputs():
    return []
