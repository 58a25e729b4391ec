"""Honest mixed solution (GPU): a CUDA extension computes ReLU over the first half of the flat
buffer and a Triton kernel over the rest, into one output, both on the caller's stream. The
custom-kernel check accepts either kind of kernel. Expected verdict: ok, no flags.
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl
from torch.utils.cpp_extension import load_inline

cpp_source = "void relu_head(torch::Tensor x, torch::Tensor y, int64_t end);"

cuda_source = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAException.h>

__global__ void mixed_relu_head_kernel(const float* __restrict__ in, float* __restrict__ out, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        out[i] = fmaxf(in[i], 0.f);
}

void relu_head(torch::Tensor x, torch::Tensor y, int64_t end) {
    TORCH_CHECK(x.is_cuda() && x.is_contiguous() && y.is_contiguous(), "relu_head: contiguous CUDA tensors");
    const at::cuda::OptionalCUDAGuard guard(x.device());
    if (end == 0) return;
    int blocks = (int)std::min<int64_t>((end + 255) / 256, 132 * 16);
    mixed_relu_head_kernel<<<blocks, 256, 0, at::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), end);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
}
"""

relu_ext = load_inline(name="kh_ex_mixed_cuda_triton", cpp_sources=cpp_source,
                       cuda_sources=cuda_source, functions=["relu_head"],
                       extra_cuda_cflags=["-O3"], verbose=False)


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
        relu_tail_kernel[(triton.cdiv(n - half, 4096),)](x, y, half, n, BLOCK=4096, num_warps=8)
        return y
