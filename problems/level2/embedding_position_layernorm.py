"""BERT-large-style embeddings: token embedding lookup + learned position embedding, then LayerNorm.

ids: 256 x 512 int64 uniform in [0, 30522); token table: 30522 x 1024, position table: 512 x 1024
(nn.Embedding, default N(0, 1) init); h[b, s] = tok[ids[b, s]] + pos[s];
y = LayerNorm(h) over the last dim, eps 1e-12, gamma ~ 1 + 0.5 * N(0, 1), beta ~ 0.5 * N(0, 1)
drawn in __init__; y is 256 x 512 x 1024 float32.
~1.3 GFLOP, ~665 MB (125 MB token table of which ~540 MB of rows are gathered with repeats,
537 MB out): memory-bound, ~190 us of DRAM traffic on an H200.
"""
import torch
import torch.nn as nn

BATCH, SEQ, VOCAB, HIDDEN = 256, 512, 30522, 1024
EPS = 1e-12


class Model(nn.Module):
    def __init__(self, vocab: int, max_seq: int, hidden: int):
        super().__init__()
        self.tok = nn.Embedding(vocab, hidden)
        self.pos = nn.Embedding(max_seq, hidden)
        self.norm = nn.LayerNorm(hidden, eps=EPS)
        with torch.no_grad():
            self.norm.weight.copy_(1.0 + 0.5 * torch.randn(hidden))
            self.norm.bias.copy_(0.5 * torch.randn(hidden))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        return self.norm(self.tok(ids) + self.pos(positions)[None, :, :])


def get_inputs():
    return [torch.randint(0, VOCAB, (BATCH, SEQ))]


def get_init_inputs():
    return [VOCAB, SEQ, HIDDEN]
