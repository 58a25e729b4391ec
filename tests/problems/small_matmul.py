"""C = A @ B with A 96 x 200 and B 200 x 112, float32: problems/level1/matmul_square.py in
miniature (no dimension a multiple of a 64 block; K long enough that TF32 rounding shows), for
Triton's CPU interpreter in tests.
"""
import torch
import torch.nn as nn

M, K, N = 96, 200, 112


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return torch.matmul(A, B)


def get_inputs():
    return [torch.randn(M, K), torch.randn(K, N)]


def get_init_inputs():
    return []
