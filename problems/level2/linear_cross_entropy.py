"""Language-model head and per-token loss: y = cross_entropy(h @ W^T, targets), one value per token.

h: 2048 x 1024 float32 (tokens x hidden); W: 16384 x 1024 (nn.Linear(1024, 16384, bias=False),
default init); targets: (2048,) int64 uniform in [0, 16384).
y[t] = logsumexp_v logits[t, v] - logits[t, targets[t]] (reduction='none'); y has shape (2048,).
~69 GFLOP, ~75 MB (8 MB in, 67 MB weights); the reference also writes and reads 134 MB of logits.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

TOKENS, HIDDEN, VOCAB = 2048, 1024, 16384


class Model(nn.Module):
    def __init__(self, hidden: int, vocab: int):
        super().__init__()
        self.head = nn.Linear(hidden, vocab, bias=False)

    def forward(self, h: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.head(h), targets, reduction="none")


def get_inputs():
    return [torch.randn(TOKENS, HIDDEN) * 2.0, torch.randint(0, VOCAB, (TOKENS,))]


def get_init_inputs():
    return [HIDDEN, VOCAB]
