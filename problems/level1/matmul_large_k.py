"""Matrix multiplication with a large reduction dimension: C = A @ B, A: 512 x 65536, B: 65536 x 512.

All float32. C[i, j] = sum_k A[i, k] * B[k, j] over K = 65536; C is only 512 x 512, so parallelism must
come from splitting K. A, B ~ N(0, 1) / 16, so that C ~ N(0, 1): with unit-scale inputs C would be
~256 in size and fp32 rounding differences between summation orders (~1e-3 absolute) would reach
the absolute tolerance for entries near zero.
~34 GFLOP, ~270 MB (two 134 MB inputs, 1 MB output).
"""
import torch
import torch.nn as nn

M, K, N = 512, 65536, 512


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return torch.matmul(A, B)


def get_inputs():
    return [torch.randn(M, K) / 16.0, torch.randn(K, N) / 16.0]


def get_init_inputs():
    return []
