"""Returns a copy of its input. Targets tests/problems/relu_of_rand.py (ReLU over torch.rand,
never negative), where the copy passes every trial without computing anything. A fresh tensor,
so it aliases nothing and is not input_mutated. Device-agnostic, no custom code.

Expected verdict: ok, flagged weak_problem ("returning input 0 unchanged would pass every
trial") and no_custom_kernel.
"""
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()
