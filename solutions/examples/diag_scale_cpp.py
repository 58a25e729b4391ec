"""Honest C++ for problems/level1/diag_matmul.py: diag(a) @ B is B with row i scaled by a[i],
so one pass over B instead of an N^3 product. An algorithmic win, never beyond the roofline:
it still reads B and writes the output.

Expected verdict: ok, no flags.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>

torch::Tensor diag_scale(torch::Tensor a, torch::Tensor B) {
    TORCH_CHECK(a.device().is_cpu() && B.device().is_cpu(), "diag_scale: CPU tensors");
    TORCH_CHECK(a.scalar_type() == torch::kFloat32 && B.scalar_type() == torch::kFloat32,
                "diag_scale: float32");
    TORCH_CHECK(a.dim() == 1 && B.dim() == 2 && a.size(0) == B.size(0), "diag_scale: shapes");
    auto ac = a.contiguous();
    auto Bc = B.contiguous();
    auto out = torch::empty_like(Bc);
    const int64_t rows = Bc.size(0), cols = Bc.size(1);
    const float* s = ac.data_ptr<float>();
    const float* in = Bc.data_ptr<float>();
    float* o = out.data_ptr<float>();
    at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const float k = s[r];
            const float* src = in + r * cols;
            float* dst = o + r * cols;
            for (int64_t c = 0; c < cols; ++c) dst[c] = k * src[c];
        }
    });
    return out;
}
"""

ext = load_inline(
    name="kh_ex_diag_scale_cpp",
    cpp_sources=cpp_source,
    functions=["diag_scale"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, a: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return ext.diag_scale(a, B)
