"""Returns a zero of the output's shape without looking at the input. Targets the weak problem
tests/problems/weak_mean.py (the mean of randn(4096, 4096), always within ~1e-3 of 0), where
a zero passes the elementwise tolerance. Device-agnostic, no custom code.

Expected verdict: weak_problem + no_custom_kernel; the outcome is ok, or incorrect where the
relative-norm test (floored at atol per element) still tells 0 from a ~2.4e-4 mean.
"""
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(())  # the reference returns x.mean(): a 0-dim tensor
