"""Rotary position embedding (RoPE, rotate-half convention) on x of shape 16 x 16 x 2048 x 128, float32.

x is (batch, heads, seq, head_dim). With d = 128, inv_freq[i] = 10000^(-2i/d) for i < 64,
angle[s, i] = s * inv_freq[i], and cos/sin tables of shape (2048, 128) = cos/sin of the angles
repeated twice along the last dim (computed in float64 in __init__, rounded to float32, kept as
buffers): y = x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x[..., 64:], x[..., :64]).
y has the shape of x.
~0.2 GFLOP, ~540 MB (268 MB in, 268 MB out, 2 MB tables): memory-bound, ~155 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn

BATCH, HEADS, SEQ, HEAD_DIM = 16, 16, 2048, 128
BASE = 10000.0


class Model(nn.Module):
    def __init__(self, seq: int, head_dim: int, base: float):
        super().__init__()
        inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        angles = torch.arange(seq, dtype=torch.float64)[:, None] * inv_freq[None, :]
        angles = torch.cat([angles, angles], dim=-1)
        self.register_buffer("cos", angles.cos().float())
        self.register_buffer("sin", angles.sin().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * self.cos + rotated * self.sin


def get_inputs():
    return [torch.randn(BATCH, HEADS, SEQ, HEAD_DIM)]


def get_init_inputs():
    return [SEQ, HEAD_DIM, BASE]
