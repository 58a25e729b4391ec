"""forward ends the whole process with os._exit(0): no exception, no result, exit status 0.

Expected verdict: crashed (device-agnostic).
"""
import os

import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        os._exit(0)
