"""Matrix-vector product: y = A @ x with A of shape 16384 x 8192 and x of shape 8192, float32.

y[i] = sum_k A[i, k] * x[k]; y has shape (16384,).
~0.27 GFLOP, ~537 MB (A is 537 MB): purely memory-bound, ~125 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn

M, K = 16384, 8192


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(A, x)


def get_inputs():
    return [torch.randn(M, K), torch.randn(K)]


def get_init_inputs():
    return []
