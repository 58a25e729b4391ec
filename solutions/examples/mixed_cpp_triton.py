"""Honest mixed solution (CPU): a C++ extension computes ReLU over the first half of the flat
buffer and a Triton kernel (Triton's interpreter on CPU) over the rest, into one output. Both
kinds of custom code run; the custom-code check accepts either. Expected verdict: ok, no flags.
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>

void relu_head(torch::Tensor x, torch::Tensor y, int64_t end) {
    TORCH_CHECK(x.device().is_cpu() && x.is_contiguous() && y.is_contiguous(), "relu_head: contiguous CPU tensors");
    const float* in = x.data_ptr<float>();
    float* out = y.data_ptr<float>();
    for (int64_t i = 0; i < end; ++i) out[i] = in[i] > 0.f ? in[i] : 0.f;
}
"""

relu_ext = load_inline(name="kh_ex_mixed_cpp_triton", cpp_sources=cpp_source,
                       functions=["relu_head"], extra_cflags=["-O3"], verbose=False)


@triton.jit
def relu_tail_kernel(x_ptr, y_ptr, start, n, BLOCK: tl.constexpr):
    offs = start + tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(y_ptr + offs, tl.maximum(tl.load(x_ptr + offs, mask=mask), 0.0), mask=mask)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        y = torch.empty_like(x)
        n = x.numel()
        half = n // 2
        relu_ext.relu_head(x, y, half)
        relu_tail_kernel[(triton.cdiv(n - half, 4096),)](x, y, half, n, BLOCK=4096)
        return y
