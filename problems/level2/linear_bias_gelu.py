"""Linear layer with bias followed by exact GELU: y = gelu(x @ W^T + b).

x: 4096 x 2048, W: 4096 x 2048 (nn.Linear(2048, 4096), default init), b: 4096, all float32;
gelu is the erf form, 0.5 * z * (1 + erf(z / sqrt(2))); y is 4096 x 4096.
~69 GFLOP, ~135 MB (34 MB in, 34 MB weights, 67 MB out).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, IN_FEATURES, OUT_FEATURES = 4096, 2048, 4096


class Model(nn.Module):
    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.linear(x))


def get_inputs():
    return [torch.randn(BATCH, IN_FEATURES)]


def get_init_inputs():
    return [IN_FEATURES, OUT_FEATURES]
