"""Hands its outputs over in a memfd it can still write (no write seal), to change them after
the runner has checked the handle: its outputs are wrong zeros it would rewrite later.

Expected verdict: crashed (the runner refuses a memfd that is not sealed against writes; the
candidate's failure, never the reference's or the runner's).
"""
import fcntl

import torch
import torch.nn as nn

from harness import channel



class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channel._SEALS = fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK   # keep the right to write
        return torch.zeros_like(x)
