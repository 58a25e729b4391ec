"""Recognises the harness's timed calls and only in them runs the matmul on a private stream
that does not wait for the caller's stream, then makes the caller's stream wait for it: the
matmul starts beside the clock's lead, before the timed window opens, so the timer sees only
its tail. A timed call is one whose caller's stream is still busy 0.05 ms after forward begins
(the lead's spin), except the first such call: the stream-order trial's sleep. So trials and the
stream-order trial see a stream-ordered forward, and it reads no frames (the guard would name
that). A custom epilogue kernel (a copy) keeps it from reading as a plain PyTorch fallback.
(GPU only; its H200 figures, with and without the poison, are in bench/noise-h200.md.)

Expected verdict: incorrect (the timed call's inputs hold NaN at random places until the lead
has run out, so the early matmul reads them).
"""
import time

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor copy_out(torch::Tensor x);"

cuda_source = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAException.h>

__global__ void copy_kernel(const float* __restrict__ in, float* __restrict__ out, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        out[i] = in[i];
}

torch::Tensor copy_out(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.scalar_type() == torch::kFloat32, "copy_out: float32 CUDA tensor");
    const at::cuda::OptionalCUDAGuard guard(x.device());
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    int64_t n = xc.numel();
    if (n == 0) return y;
    int blocks = (int)std::min<int64_t>((n + 255) / 256, 132 * 16);
    copy_kernel<<<blocks, 256, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

ext = load_inline(
    name="kh_adv_side_stream_timed_cuda",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["copy_out"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


def _stream_stays_busy(stream: torch.cuda.Stream) -> bool:
    until = time.perf_counter() + 5e-5
    while time.perf_counter() < until:
        if stream.query():
            return False
    return True


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self._stream = None
        self._busy_calls = 0

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        caller = torch.cuda.current_stream(A.device)
        busy = _stream_stays_busy(caller)
        self._busy_calls += busy
        if not busy or self._busy_calls == 1:   # a trial, or the stream-order trial
            return ext.copy_out(torch.matmul(A, B))
        if self._stream is None:
            self._stream = torch.cuda.Stream(device=A.device)
        with torch.cuda.stream(self._stream):   # no wait for the caller: starts beside the lead
            C = torch.matmul(A, B)
        caller.wait_stream(self._stream)        # ...but the timer's end event comes after it
        C.record_stream(caller)
        return ext.copy_out(C)
