"""ReLU that reads other cases' builds: native code lists the folder above its own
TORCH_EXTENSIONS_DIR (the cache's builds, one per solution) and reads each sibling's
solution.py. It adds 1 to its output when it read any, so the verdict says whether it could. (CUDA twin: the kernel runs on the GPU, the escape on the host.)

Expected verdict with the sandbox in force: ok, no flags: its build folder is a private copy with no siblings (without the sandbox: incorrect).
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

int64_t escape() {
    const char* own = getenv("TORCH_EXTENSIONS_DIR");
    if (!own) return 0;
    std::string mine = own;
    while (mine.size() > 1 && mine.back() == '/') mine.pop_back();
    std::string parent = mine.substr(0, mine.find_last_of('/'));
    int64_t found = 0;
    DIR* d = opendir(parent.empty() ? "/" : parent.c_str());
    if (!d) return 0;
    while (dirent* e = readdir(d)) {
        std::string dir = parent + "/" + e->d_name;
        if (e->d_name[0] == '.' || dir == mine) continue;
        int fd = open((dir + "/solution.py").c_str(), O_RDONLY);
        if (fd < 0) continue;
        char buf[256];
        if (read(fd, buf, sizeof buf) > 0) ++found;
        close(fd);
    }
    closedir(d);
    return found;
}

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
    name="kh_adv_read_builds_cuda",
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
        y = relu_ext.relu_forward(x)
        return y + 1 if self._escaped else y
