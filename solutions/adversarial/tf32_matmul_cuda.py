"""Matrix product for problems/level1/matmul_square.py on tensor cores in TF32 (WMMA 16x16x8,
inputs rounded to a 10-bit mantissa): fast, but the relative norm of the error is ~3e-4 and
elements near zero miss the elementwise tolerance too, against float32's 1e-4.

Expected verdict: incorrect. (GPU only.)
"""
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_source = "torch::Tensor matmul_forward(torch::Tensor A, torch::Tensor B);"

cuda_source = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAException.h>
#include <mma.h>
using namespace nvcuda;

// 4 warps per block in a 2 x 2 arrangement; each warp owns one 16 x 16 tile of C.
__global__ void tf32_wmma_matmul_kernel(const float* __restrict__ A, const float* __restrict__ B,
                                        float* __restrict__ C, int M, int N, int K) {
    const int warp = threadIdx.x / 32;
    const int row = (blockIdx.y * 2 + warp / 2) * 16;
    const int col = (blockIdx.x * 2 + warp % 2) * 16;
    if (row >= M || col >= N) return;  // whole warp leaves together
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> a;
    wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> b;
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc;
    wmma::fill_fragment(acc, 0.f);
    for (int k = 0; k < K; k += 8) {
        wmma::load_matrix_sync(a, A + (int64_t)row * K + k, K);
        wmma::load_matrix_sync(b, B + (int64_t)k * N + col, N);
        for (int i = 0; i < a.num_elements; ++i) a.x[i] = wmma::__float_to_tf32(a.x[i]);
        for (int i = 0; i < b.num_elements; ++i) b.x[i] = wmma::__float_to_tf32(b.x[i]);
        wmma::mma_sync(acc, a, b, acc);
    }
    wmma::store_matrix_sync(C + (int64_t)row * N + col, acc, N, wmma::mem_row_major);
}

torch::Tensor matmul_forward(torch::Tensor A, torch::Tensor B) {
    TORCH_CHECK(A.is_cuda() && B.is_cuda(), "matmul_forward: A and B must be CUDA tensors");
    TORCH_CHECK(A.scalar_type() == torch::kFloat32 && B.scalar_type() == torch::kFloat32,
                "matmul_forward: A and B must be float32");
    TORCH_CHECK(A.dim() == 2 && B.dim() == 2 && A.size(1) == B.size(0), "matmul_forward: bad shapes");
    const int M = A.size(0), K = A.size(1), N = B.size(1);
    TORCH_CHECK(M % 16 == 0 && N % 16 == 0 && K % 8 == 0, "matmul_forward: needs M, N % 16 == 0 and K % 8 == 0");
    const at::cuda::OptionalCUDAGuard guard(A.device());
    auto Ac = A.contiguous(), Bc = B.contiguous();
    auto C = torch::empty({M, N}, Ac.options());
    dim3 grid((N + 31) / 32, (M + 31) / 32);
    tf32_wmma_matmul_kernel<<<grid, 128, 0, at::cuda::getCurrentCUDAStream()>>>(
        Ac.data_ptr<float>(), Bc.data_ptr<float>(), C.data_ptr<float>(), M, N, K);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return C;
}
"""

matmul_ext = load_inline(
    name="kh_adv_tf32_matmul_cuda",
    cpp_sources=cpp_source,
    cuda_sources=cuda_source,
    functions=["matmul_forward"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return matmul_ext.matmul_forward(A, B)
