"""Computes ReLU in place into the input tensor with a CUDA kernel and returns the input itself:
no allocation, half the memory traffic of a writes-elsewhere kernel, and the caller's x is destroyed.

Expected verdict: input_mutated (outcome ok or incorrect).
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor relu_inplace(torch::Tensor x);"

cuda_source = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAException.h>

__global__ void mutate_input_relu_kernel(float* __restrict__ p, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        p[i] = fmaxf(p[i], 0.f);
}

torch::Tensor relu_inplace(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "relu_inplace: x must be a CUDA tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "relu_inplace: x must be float32");
    TORCH_CHECK(x.is_contiguous(), "relu_inplace: x must be contiguous");
    const at::cuda::OptionalCUDAGuard guard(x.device());
    int64_t n = x.numel();
    if (n == 0) return x;
    int blocks = (int)std::min<int64_t>((n + 255) / 256, 132 * 16);
    mutate_input_relu_kernel<<<blocks, 256, 0, at::cuda::getCurrentCUDAStream()>>>(x.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return x;
}
"""

relu_ext = load_inline(
    name="kh_adv_mutate_input_cuda",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["relu_inplace"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return relu_ext.relu_inplace(x)
