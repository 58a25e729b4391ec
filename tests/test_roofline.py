"""The floor no algorithm beats: which inputs the output needs, on real reference modules."""
from __future__ import annotations

import torch
import torch.nn as nn

from harness import roofline


class Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def _work(fn, *inputs):
    return roofline.count_work(Fn(fn), list(inputs), probes=8, seed=1)


def test_elementwise_needs_its_input_and_output():
    x = torch.randn(64, 64)
    w = _work(torch.relu, x)
    assert w["inputs_needed"] == [True]
    assert w["needed_bytes"] == 2 * x.numel() * 4


def test_a_cheaper_algorithm_is_not_held_to_the_reference_flops():
    """diag(a) @ B: the reference spends 2 N^2 M FLOPs; a row scale spends N M. The floor is
    bytes only, so the row scale is not 'beyond the roofline'."""
    a, b = torch.randn(256), torch.randn(256, 128)
    w = _work(lambda a, b: torch.diag(a) @ b, a, b)
    assert w["flops"] >= 2 * 256 * 256 * 128
    assert w["inputs_needed"] == [True, True]
    peaks = {"bandwidth": 1e11, "flops": 1e12}
    assert roofline.floor_ms(w, peaks) == 1e3 * w["needed_bytes"] / 1e11
    assert roofline.reference_work_ms(w, peaks) > 5 * roofline.floor_ms(w, peaks)


def test_an_input_used_only_in_part_is_not_counted():
    x, y = torch.randn(512, 512), torch.randn(4)
    w = _work(lambda x, y: x[:, :4] + y, x, y)    # reads 4 of 512 columns
    assert w["inputs_needed"] == [False, True]
    assert w["needed_bytes"] == 512 * 4 * 4 + 4 * 4


def test_minimum_and_clamp_count_through_one_direction():
    x = torch.randn(1000)
    assert _work(lambda x: x.clamp(-0.5, 0.5), x)["inputs_needed"] == [True]
    assert _work(lambda x: x.min(), x)["inputs_needed"] == [True]


def test_integer_indices_stay_valid_and_count():
    table, idx = torch.randn(100, 8), torch.randint(0, 100, (64,))
    w = _work(lambda t, i: t[i], table, idx)
    assert w["inputs_needed"] == [False, True]   # 64 of 100 rows: the table is read in part


def test_an_ignored_input_and_a_constant_output():
    x = torch.randn(128)
    assert _work(lambda x: torch.zeros(3), x)["inputs_needed"] == [False]
    w = _work(lambda x, s: x * 2, x, 3)   # non-tensor inputs are left alone
    assert w["inputs_needed"] == [True, False]
