"""One time step of an LSTM cell (nn.LSTMCell(1024, 1024)) for a batch of 4096.

x: 4096 x 1024, h, c: 4096 x 1024, all float32. gates = x W_ih^T + b_ih + h W_hh^T + b_hh
(W_ih, W_hh: 4096 x 1024, default init U(-1/32, 1/32)), split into i, f, g, o of 1024 each
(in that order); c' = sigmoid(f) * c + sigmoid(i) * tanh(g); h' = sigmoid(o) * tanh(c').
Returns torch.stack([h', c']) of shape 2 x 4096 x 1024.
~69 GFLOP, ~120 MB (50 MB in, 34 MB weights, 34 MB out).
"""
import torch
import torch.nn as nn

BATCH, INPUT_SIZE, HIDDEN = 4096, 1024, 1024


class Model(nn.Module):
    def __init__(self, input_size: int, hidden: int):
        super().__init__()
        self.cell = nn.LSTMCell(input_size, hidden)

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h1, c1 = self.cell(x, (h, c))
        return torch.stack([h1, c1])


def get_inputs():
    return [torch.randn(BATCH, INPUT_SIZE), torch.randn(BATCH, HIDDEN), torch.randn(BATCH, HIDDEN)]


def get_init_inputs():
    return [INPUT_SIZE, HIDDEN]
