"""Correct ReLU through a C++ extension, but forward also forks a child process that sleeps 30 s
and outlives the call (one is kept alive at all times): work that goes on after forward
returned.

Expected verdict: unsynced_work (outcome ok).
"""
import os
import time

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
    name="kh_adv_lingering_child_cpp",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self._child = None

    def _keep_child_alive(self):
        if self._child is not None:
            try:
                done, _ = os.waitpid(self._child, os.WNOHANG)
            except ChildProcessError:
                done = self._child
            if done == 0:
                return  # still running
        pid = os.fork()
        if pid == 0:  # child: linger, then leave without running any cleanup
            try:
                time.sleep(30)
            finally:
                os._exit(0)
        self._child = pid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._keep_child_alive()
        return relu_ext.relu_forward(x)
