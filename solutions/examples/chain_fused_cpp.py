"""Honest C++ for problems/level2/elementwise_chain.py: the seven elementwise ops fused into
one pass over the input (eager PyTorch makes seven passes, each writing a temporary).

Expected verdict: ok, no flags.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <cmath>

torch::Tensor chain_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu() && x.scalar_type() == torch::kFloat32, "chain: float32 CPU");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const float* in = xc.data_ptr<float>();
    float* out = y.data_ptr<float>();
    at::parallel_for(0, xc.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const float v = in[i];
            float t = std::tanh(v * 0.5f + 1.0f) * v;
            t = 2.0f / (1.0f + std::exp(-(t - 0.25f))) - 1.0f;
            out[i] = std::fmin(std::fmax(t, -0.9f), 0.9f);
        }
    });
    return y;
}
"""

ext = load_inline(
    name="kh_ex_chain_fused_cpp",
    cpp_sources=cpp_source,
    functions=["chain_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ext.chain_forward(x)
