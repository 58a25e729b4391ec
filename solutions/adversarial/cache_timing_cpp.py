"""Correct ReLU (a C++ extension), but when called again with the very same input (same storage,
same x._version: nothing wrote to it since) it returns the previous output object at once.
Timing loops that reuse inputs then measure a few comparisons, faster than 512 MiB of traffic
allows. (A strong reference to the last input keeps its address from being reused by a new
tensor; a refill through x.copy_ bumps _version and forces a recompute, so correctness checks
pass.)

Expected verdict: ok + beyond_roofline.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu(), "relu_forward: x must be a CPU tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "relu_forward: x must be float32");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const float* in = xc.data_ptr<float>();
    float* out = y.data_ptr<float>();
    at::parallel_for(0, xc.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) out[i] = in[i] > 0.f ? in[i] : 0.f;
    });
    return y;
}
"""

relu_ext = load_inline(
    name="kh_adv_cache_timing_cpp",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self._last = None  # (input, its _version then, output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._last is not None:
            prev, version, out = self._last
            if (x.data_ptr() == prev.data_ptr() and x._version == version and x.shape == prev.shape
                    and x.stride() == prev.stride() and x.dtype == prev.dtype and x.device == prev.device):
                return out
        out = relu_ext.relu_forward(x)
        self._last = (x, x._version, out)
        return out
