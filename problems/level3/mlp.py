"""Three-layer MLP with GELU: y = L3(gelu(L2(gelu(L1(x))))).

x: 4096 x 1024 float32; L1 = nn.Linear(1024, 2048), L2 = nn.Linear(2048, 2048),
L3 = nn.Linear(2048, 1024), all with bias and default init; gelu is the erf form;
y is 4096 x 1024.
~69 GFLOP, ~67 MB (17 MB in, 34 MB weights, 17 MB out).
"""
import torch
import torch.nn as nn

BATCH, IN_DIM, HIDDEN, OUT_DIM = 4096, 1024, 2048, 1024


class Model(nn.Module):
    def __init__(self, in_dim: int, hidden: int, out_dim: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.GELU(),
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def get_inputs():
    return [torch.randn(BATCH, IN_DIM)]


def get_init_inputs():
    return [IN_DIM, HIDDEN, OUT_DIM]
