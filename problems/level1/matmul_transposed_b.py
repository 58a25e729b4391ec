"""Matrix multiplication with the second operand transposed (the nn.Linear layout): C = A @ B^T.

A is 8192 x 2048, B is 2048 x 2048 (row n of B is output feature n), float32.
C[i, j] = sum_k A[i, k] * B[j, k]; C is 8192 x 2048.
~69 GFLOP, ~150 MB.
"""
import torch
import torch.nn as nn

M, K, N = 8192, 2048, 2048


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return torch.matmul(A, B.t())


def get_inputs():
    return [torch.randn(M, K), torch.randn(N, K)]


def get_init_inputs():
    return []
