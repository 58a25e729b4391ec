"""No custom code at all: forward just calls torch.relu (device-agnostic).

Expected verdict: ok + no_custom_kernel.
"""
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)
