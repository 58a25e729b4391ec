"""Honest Triton ReLU, launched on a private CUDA stream (Triton launches on the current stream),
and forward returns without making the caller's stream wait: a timer on the caller's stream sees
almost nothing. (GPU only: the CPU interpreter has no streams.)

Expected verdict: unsynced_work (outcome ok or incorrect, depending on when the output is read).
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def side_stream_relu_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(y_ptr + offs, tl.maximum(tl.load(x_ptr + offs, mask=mask), 0.0), mask=mask)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self._stream = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._stream is None:
            self._stream = torch.cuda.Stream(device=x.device)
        y = torch.empty_like(x)
        # No wait_stream either way: neither for x before, nor for the caller after.
        with torch.cuda.stream(self._stream):
            side_stream_relu_kernel[(triton.cdiv(x.numel(), 4096),)](x, y, x.numel(), BLOCK=4096,
                                                                      num_warps=8)
        return y
