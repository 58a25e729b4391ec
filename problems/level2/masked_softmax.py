"""Attention-probability step: scale, causal + key-padding mask, softmax.

scores: 16 x 16 x 512 x 512 float32 (batch, heads, query, key), ~ 8 * N(0, 1) like raw q.k with d = 64;
lengths: (16,) int64 in [1, 512], the number of valid keys per batch element.
Key j is masked for query i in batch b iff j > i (causal) or j >= lengths[b] (padding);
y = softmax over keys of (scores / 8 with masked entries set to -inf); masked entries of y are 0.
Key 0 is never masked, so no row is empty. y has the shape of scores.
~0.5 GFLOP, ~540 MB (268 MB in, 268 MB out): memory-bound, ~125 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn

BATCH, HEADS, SEQ = 16, 16, 512
SCALE = 0.125


class Model(nn.Module):
    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale

    def forward(self, scores: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        s = scores.shape[-1]
        idx = torch.arange(s, device=scores.device)
        causal = idx[None, :] > idx[:, None]                      # (S, S): key after query
        padding = idx[None, :] >= lengths[:, None]                # (B, S): key past the length
        mask = causal[None, None, :, :] | padding[:, None, None, :]
        return torch.softmax((scores * self.scale).masked_fill(mask, float("-inf")), dim=-1)


def get_inputs():
    return [torch.randn(BATCH, HEADS, SEQ, SEQ) * 8.0, torch.randint(1, SEQ + 1, (BATCH,))]


def get_init_inputs():
    return [SCALE]
