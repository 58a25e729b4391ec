"""A deliberately WEAK problem, as KernelBench's level 1 draws its activations' inputs: ReLU over
torch.rand, which is never negative, so ReLU is the identity on it and a copy of the input
passes every trial. The harness should flag it weak_problem (the linter names it)."""
import torch
import torch.nn as nn

M, N = 1024, 1024


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def get_inputs():
    return [torch.rand(M, N)]


def get_init_inputs():
    return []
