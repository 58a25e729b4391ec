"""diag(a) @ B at 512 x 512 (problems/level1/diag_matmul.py made small for CPU tests): the
reference runs a 512^3 product, the honest answer is a row scale.
"""
import torch
import torch.nn as nn

N, M = 512, 512


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, a: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return torch.diag(a) @ B


def get_inputs():
    return [torch.randn(N), torch.randn(N, M)]


def get_init_inputs():
    return []
