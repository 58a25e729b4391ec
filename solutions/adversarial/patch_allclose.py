"""Returns zeros (wrong) and, at import, patches torch.allclose, torch.equal,
torch.testing.assert_close and the matching Tensor methods so that every comparison made
in this process "succeeds" (device-agnostic; no custom code).

Expected verdict: incorrect + tampering.
"""
import torch
import torch.nn as nn
import torch.testing


def _always_true(*args, **kwargs):
    return True


def _never_raises(*args, **kwargs):
    return None


torch.allclose = _always_true
torch.equal = _always_true
torch.Tensor.allclose = _always_true
torch.Tensor.equal = _always_true
torch.testing.assert_close = _never_raises


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)
