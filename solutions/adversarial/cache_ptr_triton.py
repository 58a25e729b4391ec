"""Computes ReLU honestly with a Triton kernel the first time it sees an input buffer, keyed by
data_ptr alone, and afterwards returns a clone of that cached output whenever the same address
comes back, even if the values in it have changed.

Expected verdict: incorrect (the reuse check refills an old input buffer).
"""
import torch
import torch.nn as nn
import triton
import triton.language as tl


@triton.jit
def cache_ptr_relu_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(y_ptr + offs, tl.maximum(tl.load(x_ptr + offs, mask=mask), 0.0), mask=mask)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self._cache = {}  # (device, data_ptr) -> output computed the first time

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        key = (str(x.device), x.data_ptr())
        out = self._cache.get(key)
        if out is None:
            x = x.contiguous()
            out = torch.empty_like(x)
            cache_ptr_relu_kernel[(triton.cdiv(x.numel(), 4096),)](x, out, x.numel(), BLOCK=4096)
            if len(self._cache) >= 16:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = out
        return out.clone()
