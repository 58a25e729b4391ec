"""A deliberately WEAK problem: the mean of a 4096 x 4096 standard normal matrix.

The output is about N(0, 1/4096^2): always within ~1e-3 of zero, so a constant 0 passes an
elementwise 1e-3 tolerance without reading the input. The harness should flag it weak_problem.
"""
import torch
import torch.nn as nn

M, N = 4096, 4096


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean()


def get_inputs():
    return [torch.randn(M, N)]


def get_init_inputs():
    return []
