"""Mean squared error per row: pred, target of shape 131072 x 512, float32; output of shape (131072,).

y[i] = (1/512) * sum_j (pred[i, j] - target[i, j])^2, i.e. F.mse_loss(reduction='none').mean(-1).
(A single scalar mean over all 67M elements would be 2.0 +- 0.0004 for any draw: too constant to test.)
~0.2 GFLOP, ~540 MB read: memory-bound, ~150 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

ROWS, DIM = 131072, 512


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(pred, target, reduction="none").mean(dim=-1)


def get_inputs():
    return [torch.randn(ROWS, DIM), torch.randn(ROWS, DIM)]


def get_init_inputs():
    return []
