"""Computes ReLU in place into the input tensor with a Triton kernel and returns the input itself:
no allocation, half the memory traffic, and the caller's x is destroyed.

Expected verdict: input_mutated (outcome ok or incorrect).
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def mutate_input_relu_kernel(p_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(p_ptr + offs, tl.maximum(tl.load(p_ptr + offs, mask=mask), 0.0), mask=mask)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mutate_input_relu_kernel[(triton.cdiv(x.numel(), 4096),)](x, x.numel(), BLOCK=4096)
        return x
