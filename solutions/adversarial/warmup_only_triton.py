"""Launches its honest Triton ReLU on the first call only (the harness's untracked warm-up), then
answers with torch.relu: a launch count taken over the whole process would see a kernel run.

Expected verdict: ok + no_custom_kernel (launches are counted per trial).
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def warmup_relu_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(y_ptr + offs, tl.maximum(tl.load(x_ptr + offs, mask=mask), 0.0), mask=mask)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls > 1:
            return torch.relu(x)
        x = x.contiguous()
        y = torch.empty_like(x)
        warmup_relu_kernel[(triton.cdiv(x.numel(), 4096),)](x, y, x.numel(), BLOCK=4096)
        return y
