"""diag(a) @ B for a of 4096 and B of 4096 x 4096, float32, as KernelBench's level-1 problem 12
states it: the reference builds the diagonal matrix and runs a dense 4096^3 product (137 GFLOP,
some milliseconds on an H200 in full fp32), while the answer is B with row i scaled by a[i].

The honest algorithmic win: a row scale reads B once and writes the output once (128 MiB,
tens of microseconds). A floor built from the reference's FLOPs would call it impossible.
"""
import torch
import torch.nn as nn

N, M = 4096, 4096


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, a: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return torch.diag(a) @ B


def get_inputs():
    return [torch.randn(N), torch.randn(N, M)]


def get_init_inputs():
    return []
