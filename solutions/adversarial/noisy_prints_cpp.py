"""Honest C++ ReLU that, in its first forward, prints 5 MiB to stdout and 5 MiB to stderr (only
once: printing that much on every timed call would pass the worker's output limit, a different
case). Noise must not change the verdict.

Expected verdict: ok, no flags.
"""
import sys

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
    name="kh_adv_noisy_prints_cpp",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


_LINE = "noise " * 170 + "\n"  # 1021 bytes


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self._printed = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._printed:
            self._printed = True
            for _ in range(5 * 1024):
                sys.stdout.write(_LINE)
                sys.stderr.write(_LINE)
            sys.stdout.flush()
            sys.stderr.flush()
        return relu_ext.relu_forward(x)
