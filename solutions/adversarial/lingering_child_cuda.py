"""Correct ReLU through a CUDA kernel, but forward also forks a child process that sleeps 30 s and
outlives the call (one is kept alive at all times): work that goes on after forward returned.

Expected verdict: unsynced_work (outcome ok).
"""
import os
import time

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor relu_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAException.h>

__global__ void lingering_child_relu_kernel(const float* __restrict__ in, float* __restrict__ out, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        out[i] = fmaxf(in[i], 0.f);
}

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "relu_forward: x must be a CUDA tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "relu_forward: x must be float32");
    const at::cuda::OptionalCUDAGuard guard(x.device());
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    int64_t n = xc.numel();
    if (n == 0) return y;
    int blocks = (int)std::min<int64_t>((n + 255) / 256, 132 * 16);
    lingering_child_relu_kernel<<<blocks, 256, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

relu_ext = load_inline(
    name="kh_adv_lingering_child_cuda",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["relu_forward"],
    extra_cuda_cflags=["-O3"],
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
