"""Per-sample cross-entropy: logits 4096 x 16384 (float32), integer targets of shape (4096,).

y[i] = logsumexp_j logits[i, j] - logits[i, targets[i]], i.e.
F.cross_entropy(logits, targets, reduction='none'); y has shape (4096,).
logits ~ 2 * N(0, 1); targets uniform in [0, 16384) (int64).
(The batch mean would be ~11.7 +- 0.03 across draws: kept per-sample so that outputs vary.)
~0.2 GFLOP, ~270 MB read: memory-bound, ~62 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, CLASSES = 4096, 16384


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, targets, reduction="none")


def get_inputs():
    return [torch.randn(BATCH, CLASSES) * 2.0, torch.randint(0, CLASSES, (BATCH,))]


def get_init_inputs():
    return []
