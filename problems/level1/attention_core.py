"""Attention core written out, no mask: softmax(q k^T / sqrt(d)) v.

q, k, v: 4 x 16 x 1024 x 64 float32 (batch, heads, seq, head_dim).
S = q @ k^T / sqrt(64)  (4 x 16 x 1024 x 1024), P = softmax(S, dim=-1), out = P @ v (shape of q).
q ~ 2 * N(0, 1) (a peakier softmax), k, v ~ N(0, 1).
The reference materializes S and P (256 MB each); a fused kernel need not.
~17 GFLOP, ~67 MB of inputs and output (plus ~1 GB of intermediate traffic in the reference).
"""
import math

import torch
import torch.nn as nn

BATCH, HEADS, SEQ, HEAD_DIM = 4, 16, 1024, 64


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
        probs = torch.softmax(scores, dim=-1)
        return torch.matmul(probs, v)


def get_inputs():
    shape = (BATCH, HEADS, SEQ, HEAD_DIM)
    return [torch.randn(shape) * 2.0, torch.randn(shape), torch.randn(shape)]


def get_init_inputs():
    return []
