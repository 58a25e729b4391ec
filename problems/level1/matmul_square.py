"""Square matrix multiplication: C = A @ B with A, B of shape 3072 x 3072, float32.

C[i, j] = sum_k A[i, k] * B[k, j]; C is 3072 x 3072.
~58 GFLOP, ~113 MB (two inputs + output): compute-bound, ~1 ms at fp32 (non-tensor-core) rates on an H200.
"""
import torch
import torch.nn as nn

N = 3072


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return torch.matmul(A, B)


def get_inputs():
    return [torch.randn(N, N), torch.randn(N, N)]


def get_init_inputs():
    return []
