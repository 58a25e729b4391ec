"""Defines a correct Triton ReLU kernel but never launches it: forward is torch.relu. A regex over
the source finds a kernel; only the launch count (CPU) or the profiler (GPU) shows none ran.

Expected verdict: ok + no_custom_kernel.
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def unused_relu_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(y_ptr + offs, tl.maximum(tl.load(x_ptr + offs, mask=mask), 0.0), mask=mask)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)
