"""forward allocates the output, hands the ReLU to a detached std::thread that first sleeps
20 ms, and returns at once: the output is wrong when forward returns and right ~30 ms later,
and a wall-clock timer around forward sees nearly nothing. (CPU only; see side_stream_cuda.py.)

Expected verdict: unsynced_work (outcome ok or incorrect, depending on when the output is read).
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>
#include <chrono>
#include <thread>

torch::Tensor relu_forward(torch::Tensor x) {
    TORCH_CHECK(x.device().is_cpu(), "relu_forward: x must be a CPU tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "relu_forward: x must be float32");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);  // stale or zero memory until the thread runs
    // The lambda holds references to both tensors, so their memory outlives forward.
    std::thread([xc, y]() {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const float* in = xc.data_ptr<float>();
        float* out = y.data_ptr<float>();
        for (int64_t i = 0; i < xc.numel(); ++i) out[i] = in[i] > 0.f ? in[i] : 0.f;
    }).detach();
    return y;
}
"""

relu_ext = load_inline(
    name="kh_adv_side_thread_cpp",
    cpp_sources=cpp_source,
    functions=["relu_forward"],
    extra_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return relu_ext.relu_forward(x)
