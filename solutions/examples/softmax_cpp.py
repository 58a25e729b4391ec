"""Honest row softmax in C++ for problems/level1/softmax.py: per row, max, then exp(x - max)
summed in double, then scale; rows run in parallel.

Expected verdict: ok, no flags.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <cmath>

torch::Tensor softmax_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu(), "softmax_forward: x must be a CPU tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "softmax_forward: x must be float32");
    TORCH_CHECK(x.dim() >= 1, "softmax_forward: x must have at least one dimension");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const int64_t cols = xc.size(-1);
    const int64_t rows = cols == 0 ? 0 : xc.numel() / cols;
    const float* in = xc.data_ptr<float>();
    float* out = y.data_ptr<float>();
    at::parallel_for(0, rows, 1, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* row = in + r * cols;
            float* dst = out + r * cols;
            float m = -INFINITY;
            for (int64_t j = 0; j < cols; ++j) m = std::max(m, row[j]);
            double sum = 0.0;
            for (int64_t j = 0; j < cols; ++j) {
                float e = std::exp(row[j] - m);
                dst[j] = e;
                sum += e;
            }
            const float inv = (float)(1.0 / sum);
            for (int64_t j = 0; j < cols; ++j) dst[j] *= inv;
        }
    });
    return y;
}
"""

softmax_ext = load_inline(
    name="kh_ex_softmax_cpp",
    cpp_sources=cpp_source,
    functions=["softmax_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return softmax_ext.softmax_forward(x)
