"""LLaMA-style decoder block: RMSNorm, causal attention with RoPE, RMSNorm, SwiGLU MLP; both residual.

x: 2 x 1024 x 1024 float32 (batch, seq, dim); 16 heads of 64; MLP hidden 2816; no biases.
a = rmsnorm1(x); q, k, v = split(Wqkv a) into 16 heads each; q, k get rotary embeddings
(rotate-half convention, base 10000, positions 0..1023, cos/sin tables computed in float64 and
stored as float32 buffers); o = softmax(q k^T / 8 + causal mask) v (F.scaled_dot_product_attention,
is_causal=True); h = x + Wo(merged heads of o); y = h + W2(silu(W1 rmsnorm2(h)) * W3 rmsnorm2(h)).
rmsnorm(z) = z / sqrt(mean(z^2, last dim) + 1e-6) * g, g ~ 1 + 0.5 * N(0, 1) drawn in __init__.
Wqkv: 1024 -> 3072, Wo: 1024 -> 1024, W1, W3: 1024 -> 2816, W2: 2816 -> 1024 (nn.Linear, default init).
y is 2 x 1024 x 1024.
~57 GFLOP (53 in the linears, 4 in causal attention), ~70 MB (8 MB in, 51 MB weights, 8 MB out).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, SEQ, DIM, HEADS, MLP_HIDDEN = 2, 1024, 1024, 16, 2816
EPS = 1e-6
ROPE_BASE = 10000.0


class RMSNorm(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(1.0 + 0.5 * torch.randn(dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z * torch.rsqrt(z.pow(2).mean(dim=-1, keepdim=True) + EPS) * self.weight


class Model(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_hidden: int, max_seq: int):
        super().__init__()
        self.heads = heads
        head_dim = dim // heads
        self.norm1 = RMSNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.wo = nn.Linear(dim, dim, bias=False)
        self.norm2 = RMSNorm(dim)
        self.w1 = nn.Linear(dim, mlp_hidden, bias=False)
        self.w3 = nn.Linear(dim, mlp_hidden, bias=False)
        self.w2 = nn.Linear(mlp_hidden, dim, bias=False)
        inv_freq = ROPE_BASE ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        angles = torch.arange(max_seq, dtype=torch.float64)[:, None] * inv_freq[None, :]
        angles = torch.cat([angles, angles], dim=-1)
        self.register_buffer("cos", angles.cos().float())
        self.register_buffer("sin", angles.sin().float())

    def rope(self, t: torch.Tensor) -> torch.Tensor:
        s, half = t.shape[-2], t.shape[-1] // 2
        rotated = torch.cat([-t[..., half:], t[..., :half]], dim=-1)
        return t * self.cos[:s] + rotated * self.sin[:s]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape
        qkv = self.qkv(self.norm1(x)).view(b, s, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)          # each (b, heads, s, head_dim)
        o = F.scaled_dot_product_attention(self.rope(q), self.rope(k), v, is_causal=True)
        h = x + self.wo(o.transpose(1, 2).reshape(b, s, d))
        a = self.norm2(h)
        return h + self.w2(F.silu(self.w1(a)) * self.w3(a))


def get_inputs():
    return [torch.randn(BATCH, SEQ, DIM)]


def get_init_inputs():
    return [DIM, HEADS, MLP_HIDDEN, SEQ]
