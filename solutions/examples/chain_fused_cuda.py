"""Honest CUDA for problems/level2/elementwise_chain.py: the seven elementwise ops fused into
one float4 grid-stride kernel, so the input is read once and the output written once.

Expected verdict: ok, no flags.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor chain_forward(torch::Tensor x);"

cuda_source = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAException.h>

__device__ __forceinline__ float chain(float v) {
    float t = tanhf(v * 0.5f + 1.0f) * v;
    t = 2.0f / (1.0f + expf(-(t - 0.25f))) - 1.0f;
    return fminf(fmaxf(t, -0.9f), 0.9f);
}

__global__ void chain_vec4_kernel(const float4* __restrict__ in, float4* __restrict__ out, int64_t n4) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4;
         i += (int64_t)gridDim.x * blockDim.x) {
        float4 v = in[i];
        v.x = chain(v.x); v.y = chain(v.y); v.z = chain(v.z); v.w = chain(v.w);
        out[i] = v;
    }
}

__global__ void chain_kernel(const float* __restrict__ in, float* __restrict__ out, int64_t n) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        out[i] = chain(in[i]);
}

torch::Tensor chain_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.scalar_type() == torch::kFloat32, "chain: float32 CUDA");
    const at::cuda::OptionalCUDAGuard guard(x.device());
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const int64_t n = xc.numel();
    if (n == 0) return y;
    auto stream = at::cuda::getCurrentCUDAStream();
    const int threads = 256;
    const int blocks = at::cuda::getCurrentDeviceProperties()->multiProcessorCount * 16;
    const float* in = xc.data_ptr<float>();
    float* out = y.data_ptr<float>();
    int64_t done = 0;
    if (reinterpret_cast<uintptr_t>(in) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0) {
        done = n / 4 * 4;
        if (done)
            chain_vec4_kernel<<<blocks, threads, 0, stream>>>(
                reinterpret_cast<const float4*>(in), reinterpret_cast<float4*>(out), n / 4);
    }
    if (done < n)
        chain_kernel<<<blocks, threads, 0, stream>>>(in + done, out + done, n - done);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

ext = load_inline(
    name="kh_ex_chain_fused_cuda",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["chain_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ext.chain_forward(x)
