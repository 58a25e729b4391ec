"""Batched matrix multiplication: C = bmm(A, B), A: 128 x 512 x 1024, B: 128 x 1024 x 512, float32.

C[b, i, j] = sum_k A[b, i, k] * B[b, k, j]; C is 128 x 512 x 512.
~69 GFLOP, ~670 MB (two 268 MB inputs, 134 MB output).
"""
import torch
import torch.nn as nn

BATCH, M, K, N = 128, 512, 1024, 512


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return torch.bmm(A, B)


def get_inputs():
    return [torch.randn(BATCH, M, K), torch.randn(BATCH, K, N)]


def get_init_inputs():
    return []
