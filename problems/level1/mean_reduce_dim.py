"""Mean over the middle dimension of x of shape 256 x 512 x 1024, float32.

y[b, j] = (1/512) * sum_k x[b, k, j]; y is 256 x 1024. x ~ 4 * N(0, 1) + 1, so y ~ 1 +- 0.18.
~0.13 GFLOP, ~540 MB read: memory-bound, ~150 us of DRAM traffic on an H200 (plus reduction latency).
"""
import torch
import torch.nn as nn

B, R, N = 256, 512, 1024
DIM = 1


class Model(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.mean(x, dim=self.dim)


def get_inputs():
    return [torch.randn(B, R, N) * 4.0 + 1.0]


def get_init_inputs():
    return [DIM]
