"""C++ extension whose forward never returns: it spins on a volatile flag nothing ever sets
(the compiler must re-read it, so the loop cannot be removed). The GIL stays held.

Expected verdict: timeout.
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = r"""
#include <torch/extension.h>

torch::Tensor relu_forward(torch::Tensor x) {
    volatile bool done = false;
    while (!done) { /* waiting for a worker that was never started */ }
    return torch::relu(x);
}
"""

relu_ext = load_inline(
    name="kh_ex_hang_cpp",
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
