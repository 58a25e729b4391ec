"""Tall-skinny matrix multiplication: C = A @ B, A of shape 32768 x 1024, B of 1024 x 128, float32.

C[i, j] = sum_k A[i, k] * B[k, j]; C is 32768 x 128.
~8.6 GFLOP, ~150 MB (A is 134 MB): low arithmetic intensity, ~0.15 ms at fp32 rates on an H200.
"""
import torch
import torch.nn as nn

M, K, N = 32768, 1024, 128


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return torch.matmul(A, B)


def get_inputs():
    return [torch.randn(M, K), torch.randn(K, N)]


def get_init_inputs():
    return []
