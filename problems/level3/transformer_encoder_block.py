"""Pre-LayerNorm transformer encoder block (ViT-B size): self-attention and GELU MLP, both residual.

x: 4 x 1024 x 768 float32 (batch, seq, dim); 12 heads of 64; MLP hidden 3072.
h = x + Wo(attn(LN1(x))), y = h + W2(gelu(W1(LN2(h)))), where attn splits qkv = Wqkv(.) into
12 heads and computes softmax(q k^T / sqrt(64)) v per head (no mask, no dropout; written with
F.scaled_dot_product_attention), then merges heads. Wqkv: 768 -> 2304, Wo: 768 -> 768,
W1: 768 -> 3072, W2: 3072 -> 768, all nn.Linear with bias (default init); LN1, LN2: LayerNorm(768),
eps 1e-5, gamma ~ 1 + 0.5 * N(0, 1), beta ~ 0.5 * N(0, 1) drawn in __init__; gelu: erf form.
y is 4 x 1024 x 768.
~71 GFLOP (58 in the linears, 13 in attention), ~55 MB (13 MB in, 28 MB weights, 13 MB out).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, SEQ, DIM, HEADS, MLP_HIDDEN = 4, 1024, 768, 12, 3072
EPS = 1e-5


class Model(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_hidden: int):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim, eps=EPS)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim, eps=EPS)
        self.fc1 = nn.Linear(dim, mlp_hidden)
        self.fc2 = nn.Linear(mlp_hidden, dim)
        with torch.no_grad():
            for ln in (self.ln1, self.ln2):
                ln.weight.copy_(1.0 + 0.5 * torch.randn(dim))
                ln.bias.copy_(0.5 * torch.randn(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape
        qkv = self.qkv(self.ln1(x)).view(b, s, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)          # each (b, heads, s, head_dim)
        attn = F.scaled_dot_product_attention(q, k, v)
        h = x + self.out(attn.transpose(1, 2).reshape(b, s, d))
        return h + self.fc2(F.gelu(self.fc1(self.ln2(h))))


def get_inputs():
    return [torch.randn(BATCH, SEQ, DIM)]


def get_init_inputs():
    return [DIM, HEADS, MLP_HIDDEN]
