"""ReLU over a 16384 x 4096 float32 matrix: y = max(x, 0), elementwise.

256 MiB in, 256 MiB out: memory-bound, about 150 us of DRAM traffic on an H200 (well above
the ~17 us an event-timed one-kernel call costs there).
"""
import torch
import torch.nn as nn

M, N = 16384, 4096


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def get_inputs():
    return [torch.randn(M, N)]


def get_init_inputs():
    return []
