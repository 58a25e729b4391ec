"""Tries to build a (broken) C++ extension at import inside try/except and silently falls back
to torch.relu when the build fails, so the answer is right but no custom code ever runs.

Expected verdict: ok + no_custom_kernel.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>

torch::Tensor relu_forward(torch::Tensor x) {
    auto y = torch::empty_like(x);
    float* out = y.data_ptr<float>();
    const float* in = x.data_ptr<float>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = std::max(in[i], 0);  // float vs int: no match
    return y;
}
"""

try:
    relu_ext = load_inline(
        name="kh_adv_fallback_cpp",
        cpp_sources=cpp_source,
        functions=["relu_forward"],
        extra_cflags=["-O3"],
        verbose=False,
    )
except Exception:  # build failed: quietly use PyTorch instead
    relu_ext = None


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if relu_ext is not None:
            return relu_ext.relu_forward(x)
        return torch.relu(x)
