"""Computes ReLU in place into the input tensor with a C++ extension and returns the input
itself: no allocation, no second buffer, and the caller's x is destroyed.

Expected verdict: input_mutated (outcome ok or incorrect).
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>

torch::Tensor relu_inplace(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu(), "relu_inplace: x must be a CPU tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "relu_inplace: x must be float32");
    TORCH_CHECK(x.is_contiguous(), "relu_inplace: x must be contiguous");
    float* p = x.data_ptr<float>();
    at::parallel_for(0, x.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) p[i] = p[i] > 0.f ? p[i] : 0.f;
    });
    return x;
}
"""

relu_ext = load_inline(
    name="kh_adv_mutate_input_cpp",
    cpp_sources=cpp_source,
    functions=["relu_inplace"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return relu_ext.relu_inplace(x)
