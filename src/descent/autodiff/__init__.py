"""The reverse-mode automatic differentiation engine.

`tensor.py` builds the graph, `primitives.py` holds every op's forward and derivative,
`functions.py` the public functions, `convolution.py` convolution and pooling (composed
from the `windows` primitive), `functional.py` grad/value_and_grad/check_grad.
"""

from descent.autodiff.convolution import (
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    max_pool1d,
    max_pool2d,
    windows,
)
from descent.autodiff.functional import GradCheck, check_grad, grad, value_and_grad
from descent.autodiff.functions import (
    abs,
    broadcast_to,
    clip,
    concatenate,
    cos,
    exp,
    leaky_relu,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    sqrt,
    square,
    stack,
    sum,
    tanh,
    transpose,
    where,
)
from descent.autodiff.primitives import PRIMITIVES, unbroadcast
from descent.autodiff.tensor import Tensor, is_grad_enabled, no_grad, tensor, topological_order

__all__ = [
    "GradCheck", "PRIMITIVES", "Tensor", "abs", "avg_pool1d", "avg_pool2d", "broadcast_to",
    "check_grad", "clip", "concatenate", "conv1d", "conv2d", "cos", "exp", "grad",
    "is_grad_enabled", "leaky_relu", "log", "log_softmax", "logsumexp", "matmul", "max",
    "max_pool1d", "max_pool2d", "maximum", "mean", "min", "minimum", "no_grad", "relu",
    "reshape", "sigmoid", "sin", "softmax", "sqrt", "square", "stack", "sum", "tanh", "tensor",
    "topological_order", "transpose", "unbroadcast", "value_and_grad", "where", "windows",
]
