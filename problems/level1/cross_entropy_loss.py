"""Per-sample cross-entropy: logits 8192 x 16384 (float32), integer targets of shape (8192,).

y[i] = logsumexp_j logits[i, j] - logits[i, targets[i]], i.e.
F.cross_entropy(logits, targets, reduction='none'); y has shape (8192,).
logits ~ 2 * N(0, 1); targets uniform in [0, 16384) (int64).
(The batch mean would be ~11.7 +- 0.02 across draws: kept per-sample so that outputs vary.)
~0.4 GFLOP, ~540 MB read: memory-bound, ~150 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, CLASSES = 8192, 16384


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, targets, reduction="none")


def get_inputs():
    return [torch.randn(BATCH, CLASSES) * 2.0, torch.randint(0, CLASSES, (BATCH,))]


def get_init_inputs():
    return []
