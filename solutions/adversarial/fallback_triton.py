"""Tries its (broken: tl.arange over 1000, not a power of two) Triton kernel inside try/except and
silently falls back to torch.relu, for good once it failed: the answer is right but no custom
kernel ever runs. The failed launch happens in the warm-up, so no trial sees a Triton error.

Expected verdict: ok + no_custom_kernel.
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def fallback_relu_kernel(x_ptr, y_ptr, n):
    offs = tl.program_id(0) * 1000 + tl.arange(0, 1000)
    mask = offs < n
    tl.store(y_ptr + offs, tl.maximum(tl.load(x_ptr + offs, mask=mask), 0.0), mask=mask)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.broken = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.broken:
            try:
                x = x.contiguous()
                y = torch.empty_like(x)
                fallback_relu_kernel[(triton.cdiv(x.numel(), 1000),)](x, y, x.numel())
                return y
            except Exception:   # compile failed: quietly use PyTorch instead
                self.broken = True
        return torch.relu(x)
