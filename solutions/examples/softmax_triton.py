"""Honest Triton row softmax: one program per row, the whole row in one block (max, exp, sum in
fp32), columns past the row's end masked to -inf. Expected verdict: ok, no flags.
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def softmax_kernel(x_ptr, y_ptr, n_cols, stride_x, stride_y, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    x = tl.load(x_ptr + row * stride_x + cols, mask=mask, other=-float("inf"))
    x = x - tl.max(x, axis=0)
    e = tl.exp(x)
    tl.store(y_ptr + row * stride_y + cols, e / tl.sum(e, axis=0), mask=mask)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x2 = x.contiguous().view(-1, x.shape[-1])
        y = torch.empty_like(x2)
        rows, cols = x2.shape
        block = triton.next_power_of_2(cols)
        softmax_kernel[(rows,)](x2, y, cols, x2.stride(0), y.stride(0), BLOCK=block,
                                num_warps=16 if block >= 8192 else 8 if block >= 2048 else 4)
        return y.view(x.shape)
