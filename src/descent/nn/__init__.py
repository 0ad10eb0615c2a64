"""Neural-network building blocks: modules, layers (dense, convolution, pooling,
normalization, dropout), activations, initializers, losses, and `ConvNet`, the default
network for pictures."""

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
from descent.nn.config import MAX_NESTING, from_config, parameter_shapes
from descent.nn.conv import Conv1d, Conv2d
from descent.nn.convnet import ConvNet, convnet_layers
from descent.nn.init import INITIALIZERS, get_initializer, glorot_uniform, he_normal, lecun_normal
from descent.nn.layers import MLP, Linear, Sequential
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
from descent.nn.normalization import BatchNorm1d, BatchNorm2d
from descent.nn.pooling import AvgPool1d, AvgPool2d, Flatten, GlobalAvgPool, MaxPool1d, MaxPool2d
from descent.nn.regularization import Dropout

__all__ = [
    "ACTIVATIONS", "INITIALIZERS", "LOSSES", "MAX_NESTING", "MLP", "Activation", "AvgPool1d",
    "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "ConvNet", "Dropout",
    "Flatten", "GlobalAvgPool", "MaxPool1d", "MaxPool2d", "convnet_layers", "BinaryCrossEntropy",
    "BinaryCrossEntropyWithLogits", "CrossEntropy", "Huber", "Identity", "LeakyReLU", "Linear",
    "Loss", "MeanAbsoluteError", "MeanSquaredError", "Module", "Parameter", "QuadraticCost",
    "ReLU", "ScaledTanh", "Sequential", "Sigmoid", "Softmax", "Tanh", "activation_name",
    "from_config", "get_activation", "get_initializer", "get_loss", "glorot_uniform",
    "he_normal", "lecun_normal", "parameter_shapes", "scaled_tanh",
]
