"""Correct ReLU (a CUDA kernel), but when called again with the very same input (same storage, same
x._version: nothing wrote to it since) it returns the previous output object at once. Timing
loops that reuse inputs then measure a few comparisons, faster than 512 MiB of traffic allows.
(A strong reference to the last input keeps its address from being reused by a new tensor; a
refill through x.copy_ bumps _version and forces a recompute, so correctness checks pass.)

Expected verdict: ok + beyond_roofline.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor relu_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAException.h>

__global__ void cache_timing_relu_kernel(const float* __restrict__ in, float* __restrict__ out, int64_t n) {
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
    cache_timing_relu_kernel<<<blocks, 256, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

relu_ext = load_inline(
    name="kh_adv_cache_timing_cuda",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["relu_forward"],
    extra_cuda_cflags=["-O3"],
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
