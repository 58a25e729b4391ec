"""CLIP-style similarity logits: L2-normalize two embedding sets, matmul, scale by exp(logit_scale).

a: 4096 x 1024, b: 4096 x 1024 float32; a_n = a / max(||a_i||_2, 1e-12) row-wise (likewise b_n);
y = exp(logit_scale) * a_n @ b_n^T with the scalar parameter logit_scale = log(1 / 0.07);
y is 4096 x 4096.
~34 GFLOP, ~100 MB (2 x 17 MB in, 67 MB out).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

N_A, N_B, DIM = 4096, 4096, 1024


class Model(nn.Module):
    def __init__(self, init_temperature: float):
        super().__init__()
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / init_temperature)))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a_n = F.normalize(a, dim=-1)
        b_n = F.normalize(b, dim=-1)
        return self.logit_scale.exp() * (a_n @ b_n.t())


def get_inputs():
    return [torch.randn(N_A, DIM), torch.randn(N_B, DIM)]


def get_init_inputs():
    return [0.07]
