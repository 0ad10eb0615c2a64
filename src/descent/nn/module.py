"""`Module` owns parameters, buffers and sub-modules; `Parameter` is a trainable leaf tensor.

A buffer is state that is saved with the model but not trained by gradient descent
(BatchNorm's running mean and variance): `register_buffer`, `named_buffers`, and
`state_dict()` holding parameters and buffers together.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from descent.autodiff import Tensor


class Parameter(Tensor):
    """A leaf tensor that a Module trains. Always requires grad; float32 unless given.

    Optimizers update `.data` in place, so code may keep a reference to the array.
    """

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None) -> None:
        array = np.asarray(data, dtype=dtype if dtype is not None else None)
        if array.dtype.kind != "f":
            array = array.astype(np.float32)
        super().__init__(np.ascontiguousarray(array), requires_grad=True)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


class Module:
    """Base class of layers and networks, as in PyTorch.

    Attributes assigned a Parameter or a Module are registered in order, so
    `named_parameters()` lists them as `"0.weight"`, `"0.bias"`, ... `training` says
    whether the module is in training mode (`train()`) or evaluation mode (`eval()`): layers
    such as Dropout and BatchNorm behave differently in the two.

    >>> import descent as ds
    >>> net = ds.nn.MLP([2, 3, 1], activation="tanh", seed=0)
    >>> [name for name, _ in net.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__()")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if name in self._buffers:  # assigning a buffer replaces its array, keeps it a buffer
            self._buffers[name] = value
        elif isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def forward(self, *args: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any) -> Tensor:
        return self.forward(*args)

    # ---- traversal -----------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        for module_name, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                yield (f"{module_name}.{name}" if module_name else name), p

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """Keep `array` as state saved with the model but not trained (e.g. running means)."""
        self._buffers[name] = array
        object.__setattr__(self, name, array)

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for module_name, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                yield (f"{module_name}.{name}" if module_name else name), b

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def children(self) -> list[Module]:
        return list(self._modules.values())

    def zero_grad(self) -> None:
        """Forget accumulated gradients (they add up across backward calls otherwise)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Training mode for this module and all below it (Dropout drops, BatchNorm uses the
        batch's statistics and updates its running ones). Returns the module."""
        for _, m in self.named_modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode (Dropout passes through, BatchNorm uses its running statistics).

        >>> import descent as ds
        >>> net = ds.nn.Sequential(ds.nn.Dropout(0.5)).eval()
        >>> net.training, net[0].training
        (False, False)
        """
        return self.train(False)

    # ---- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter and buffer array, by name."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, np.array(b, copy=True)) for name, b in self.named_buffers())
        return state

    def state_arrays(self) -> dict[str, np.ndarray]:
        own = {name: p.data for name, p in self.named_parameters()}
        own.update(self.named_buffers())
        return own

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Copy arrays into the parameters and buffers in place; names and shapes must match."""
        own = self.state_arrays()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(
                f"load_state_dict: missing {missing or 'nothing'}, unexpected "
                f"{unexpected or 'nothing'}"
            )
        for name, p in own.items():
            value = np.asarray(state[name])
            if value.shape != p.shape:
                raise ValueError(
                    f"load_state_dict: {name} has shape {value.shape}, the model needs {p.shape}"
                )
            p[...] = value

    def config(self) -> dict[str, Any]:
        """The architecture as JSON-safe data; `descent.nn.from_config` rebuilds it."""
        raise NotImplementedError(f"{type(self).__name__} has no config(); it cannot be saved")

    # ---- display -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in self._modules.items():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)
