"""Causal scaled dot-product attention.

q, k, v: 16 x 16 x 1024 x 64 float32 (batch, heads, seq, head_dim).
out[b, h, i, :] = sum_{j <= i} softmax_j(q[b, h, i, :] . k[b, h, j, :] / sqrt(64)) * v[b, h, j, :],
the softmax taken over j <= i only; out has the shape of q.
(F.scaled_dot_product_attention(q, k, v, is_causal=True).) q ~ 2 * N(0, 1), k, v ~ N(0, 1).
~34 GFLOP counting only the causal half (69 GFLOP dense), ~270 MB (3 x 67 MB in, 67 MB out).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, HEADS, SEQ, HEAD_DIM = 16, 16, 1024, 64


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def get_inputs():
    shape = (BATCH, HEADS, SEQ, HEAD_DIM)
    return [torch.randn(shape) * 2.0, torch.randn(shape), torch.randn(shape)]


def get_init_inputs():
    return []
