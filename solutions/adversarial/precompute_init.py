"""Guesses the harness's seed instead of computing: at construction it draws the problem's input
(randn(16384, 4096), as problems/level1/relu.py does) under common seeds, stores relu of each with
a fingerprint of the input, and restores the RNG state. forward returns the stored output whose
fingerprint matches x, or else the one for seed 0. Device-agnostic, no custom code.

Expected verdict: incorrect (the harness draws inputs from fresh seeds).
"""
import torch
import torch.nn as nn

M, N = 16384, 4096  # problems/level1/relu.py
SEEDS = (0, 1, 42, 123, 1234, 2024, 3407, 12345)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        state = torch.get_rng_state()
        self._table = []  # (fingerprint of the input, relu of it)
        for seed in SEEDS:
            torch.manual_seed(seed)
            x = torch.randn(M, N)
            self._table.append((x.reshape(-1)[:16].clone(), torch.relu(x)))
        torch.set_rng_state(state)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        head = x.detach().reshape(-1)[:16].cpu()
        guess = self._table[0][1]
        for fingerprint, out in self._table:
            if torch.equal(fingerprint, head):
                guess = out
                break
        return guess.to(x.device, copy=True)
