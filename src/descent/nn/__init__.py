"""Neural-network building blocks: modules, layers, activations, initializers, losses."""

from descent.nn.activations import (
    ACTIVATIONS,
    Activation,
    Identity,
    LeakyReLU,
    ReLU,
    ScaledTanh,
    Sigmoid,
    Softmax,
    Tanh,
    activation_name,
    get_activation,
    scaled_tanh,
)
from descent.nn.init import INITIALIZERS, get_initializer, glorot_uniform, he_normal, lecun_normal
from descent.nn.layers import MLP, Linear, Sequential, from_config, parameter_shapes
from descent.nn.losses import (
    LOSSES,
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    CrossEntropy,
    Huber,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    QuadraticCost,
    get_loss,
)
from descent.nn.module import Module, Parameter

__all__ = [
    "ACTIVATIONS", "INITIALIZERS", "LOSSES", "MLP", "Activation", "BinaryCrossEntropy",
    "BinaryCrossEntropyWithLogits", "CrossEntropy", "Huber", "Identity", "LeakyReLU", "Linear",
    "Loss", "MeanAbsoluteError", "MeanSquaredError", "Module", "Parameter", "QuadraticCost",
    "ReLU", "ScaledTanh", "Sequential", "Sigmoid", "Softmax", "Tanh", "activation_name",
    "from_config", "get_activation", "get_initializer", "get_loss", "glorot_uniform",
    "he_normal", "lecun_normal", "parameter_shapes", "scaled_tanh",
]
