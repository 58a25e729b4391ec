"""A Triton ReLU that cannot compile: tl.arange's range must be a power of two (1000 is not).
Nothing fails at import; Triton compiles on the first launch, in the candidate's warm-up.

Expected verdict: compile_error, with Triton's own message.
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def relu_kernel(x_ptr, y_ptr, n):
    offs = tl.program_id(0) * 1000 + tl.arange(0, 1000)
    mask = offs < n
    tl.store(y_ptr + offs, tl.maximum(tl.load(x_ptr + offs, mask=mask), 0.0), mask=mask)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        y = torch.empty_like(x)
        relu_kernel[(triton.cdiv(x.numel(), 1000),)](x, y, x.numel())
        return y
