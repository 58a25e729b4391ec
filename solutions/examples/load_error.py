"""Imports fine but defines no ModelNew: the class is misspelled ModelNw.

Expected verdict: load_error (device-agnostic).
"""
import torch
import torch.nn as nn


class ModelNw(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp_min(x, 0.0)
