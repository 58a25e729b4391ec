"""Computes ReLU honestly (a C++ extension) the first time it sees an input buffer, keyed by
data_ptr alone, and afterwards returns a clone of that cached output whenever the same address
comes back, even if the values in it have changed.

Expected verdict: incorrect (the reuse check refills an old input buffer; allocators also hand
the same address to fresh inputs).
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
    name="kh_adv_cache_ptr_cpp",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self._cache = {}  # (device, data_ptr) -> output computed the first time

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        key = (str(x.device), x.data_ptr())
        out = self._cache.get(key)
        if out is None:
            out = relu_ext.relu_forward(x)
            if len(self._cache) >= 16:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = out
        return out.clone()
