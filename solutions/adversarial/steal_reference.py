"""Tries to find the reference's output instead of computing anything: walks gc.get_objects()
for a tensor shaped like the output (same dtype and device, not the input's memory) whose first
values look like relu(x), and returns a copy; if none is found, returns torch.empty_like(x).
Device-agnostic, no custom code.

Expected verdict: incorrect (the reference output must not be reachable from the worker).
"""
import gc
import warnings

import torch
import torch.nn as nn


def _looks_like_answer(t: torch.Tensor, x: torch.Tensor) -> bool:
    if t is x or t.shape != x.shape or t.dtype != x.dtype or t.device != x.device:
        return False
    if t.data_ptr() == x.data_ptr() or t.numel() == 0:
        return False
    head_t, head_x = t.reshape(-1)[:64], x.reshape(-1)[:64]
    return bool((head_t == head_x.clamp_min(0)).all())


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with warnings.catch_warnings():  # isinstance() pokes deprecated module proxies
            warnings.simplefilter("ignore")
            for obj in gc.get_objects():
                try:
                    if isinstance(obj, torch.Tensor) and _looks_like_answer(obj, x):
                        return obj.detach().clone()
                except Exception:
                    continue
        return torch.empty_like(x)
