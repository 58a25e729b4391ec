"""Small image classifier: three conv -> ReLU -> 2x2 max-pool stages, then a two-layer MLP head.

x: 64 x 3 x 128 x 128 float32. Stages: conv 3 -> 32, conv 32 -> 64, conv 64 -> 128 (all 3x3,
padding 1, with bias), each followed by ReLU and max_pool2d(2, 2): 128 -> 64 -> 32 -> 16 pixels.
Then flatten (128 * 16 * 16 = 32768 features), Linear(32768, 256), ReLU, Linear(256, 10).
Weights: Kaiming-normal (fan_in, ReLU gain), so that activations keep their scale;
biases: PyTorch's default init. y: 64 x 10 logits.
~22 GFLOP, ~47 MB (13 MB in, 34 MB weights); the reference also writes ~300 MB of intermediate
activations (the first conv's output alone is 134 MB).
"""
import torch
import torch.nn as nn

BATCH, IN_CH, SIZE, CLASSES = 64, 3, 128, 10


class Model(nn.Module):
    def __init__(self, in_ch: int, size: int, classes: int):
        super().__init__()
        layers = []
        ch = in_ch
        for out_ch in (32, 64, 128):
            layers += [nn.Conv2d(ch, out_ch, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2)]
            ch = out_ch
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(ch * (size // 8) ** 2, 256),
            nn.ReLU(),
            nn.Linear(256, classes),
        )
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def get_inputs():
    return [torch.randn(BATCH, IN_CH, SIZE, SIZE)]


def get_init_inputs():
    return [IN_CH, SIZE, CLASSES]
