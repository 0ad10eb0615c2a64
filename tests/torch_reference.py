"""PyTorch spellings of descent's activations, shared by the tests that use torch as oracle."""

import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own convention

TORCH_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "scaled_tanh": lambda z: 1.7159 * torch.tanh(z * (2.0 / 3.0)),
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "identity": lambda z: z,
    "softmax": lambda z: torch.softmax(z, dim=-1),
}
