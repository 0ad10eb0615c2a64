"""The contenders of bench/run.py: one network, five implementations.

Every contender trains the same MLP on the same float32 data with plain SGD (no momentum,
no weight decay) and computes the loss of every batch, as a training loop that reports
its loss must. Each is built once per scenario (`make(name, scenario, data)`), then
`runner.epoch(seed)` trains one epoch (for scenario C, `runner.predict()` predicts every
row); construction, data conversion and compilation stay outside the timed calls.

- descent: `ds.fit(..., epochs=1, verbose=False)`, the whole public call (its input
  checks included); `ds.train.predict_array` for prediction. Built with
  `descent.train.jit.warm_up()` where the network is small enough for fit to take the
  numba kernel (B, C), and `descent.train.halves.warm_up()` where it is big enough for
  the two-core halves kernel (A): each loads its compiled kernel (if the `jit` extra is
  installed) outside the timed calls, so that fit takes it whatever the epoch count.
- numpy: the hand-written forward and backward pass, the textbook formulas with NumPy's
  ordinary temporaries. It is the floor for any engine built on NumPy calls: a faster
  NumPy engine can only save allocations and Python overhead, not arithmetic.
- numpy-1t: the same code with OpenBLAS limited to one thread (threadpoolctl).
- torch: PyTorch eager on the CPU, `torch.optim.SGD`, its default thread count.
- jax: the whole train step (forward, backward and the SGD update) under `jax.jit`, with
  the parameters donated so XLA updates them in place; batches are fed from NumPy. The
  losses stay on the device until the epoch ends, so Python dispatches step t+1 while
  XLA still computes step t (asynchronous dispatch: two cores at work).
- jax-sync: the same, reading each batch's loss as it comes (to stop at a non-finite
  one, as descent's fit does), which forgoes that overlap.
- jax-scan: the strongest CPU peer: the whole epoch under one `jax.jit`, a `lax.scan` of
  the same step over every full batch (the rows gathered inside the compiled program from
  the data on the device), then the same step once for the smaller last batch. Python
  dispatches once per epoch; the losses come back as one array.
- sklearn: `MLPClassifier` / `MLPRegressor(solver="sgd", momentum=0, alpha=0)` and one
  `partial_fit` per epoch (it shuffles, as the others do). Its regression loss is half the
  mean squared error; the work per step is the same.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

F32 = np.float32


@dataclass(frozen=True)
class Scenario:
    """One benchmark case: a network, its loss and step, and how many rows it sees."""

    key: str
    title: str
    sizes: tuple[int, ...]
    activation: str  # hidden layers; the output layer is linear
    loss: str  # "cross_entropy" (integer labels) or "mse"
    lr: float
    batch_size: int
    rows: int
    predict: bool = False  # scenario C: time prediction instead of training

    @property
    def steps(self) -> int:
        return -(-self.rows // self.batch_size)


def make_data(sc: Scenario, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic float32 rows shaped like the scenario, with a learnable target."""
    rng = np.random.default_rng(seed)
    n_in = sc.sizes[0]
    if sc.loss == "cross_entropy":  # MNIST-shaped: "pixels" in [0, 1), 10 classes
        X = rng.random((sc.rows, n_in), dtype=F32)
        teacher = rng.standard_normal((n_in, sc.sizes[-1])).astype(F32)
        # argmax of (X - 0.5) @ teacher, without a second copy of X
        y = np.argmax(X @ teacher - 0.5 * teacher.sum(axis=0), axis=1).astype(np.int64)
        return X, y
    X = rng.standard_normal((sc.rows, n_in), dtype=F32)
    w = rng.standard_normal(n_in).astype(F32) / np.sqrt(n_in)
    y = (np.sin(X @ w) + 0.1 * rng.standard_normal(sc.rows)).astype(F32)
    return X, y


class Runner:
    """What run.py times: `epoch(seed)` trains one epoch, `predict()` predicts all rows."""

    def epoch(self, seed: int) -> float:
        raise NotImplementedError

    def predict(self) -> Any:
        raise NotImplementedError


# ---- descent ----------------------------------------------------------------------------------

def load_kernels(sc: Scenario) -> None:
    """Load the compiled kernels `ds.fit` would pick for this scenario's network (library
    code, as JAX compiles outside the timed calls); also called before memory is traced."""
    # Load numba's compiled kernel now (as JAX compiles outside the timed calls):
    # fit then picks it by itself for small networks (descent.train.jit).
    try:
        from descent.train import jit
    except ImportError:  # descent-baseline: a checkout from before the jit path
        jit = None
    work = sc.batch_size * sum(i * o for i, o in itertools.pairwise(sc.sizes))
    if jit is not None and work <= jit.SMALL_WORK:  # where fit would take it
        jit.warm_up(F32)
    # Likewise the spinning helpers of big split products (descent.train.spin),
    # which a long enough fit loads by itself.
    try:
        from descent.train import spin
    except ImportError:  # descent-baseline: a checkout from before them
        spin = None
    if spin is not None and work > jit.SMALL_WORK:
        spin.load_loops()
    # And the two-core halves kernel of big networks (descent.train.halves).
    try:
        from descent.train import halves
    except ImportError:  # descent-baseline: a checkout from before it
        halves = None
    if halves is not None and work > jit.SMALL_WORK:
        halves.warm_up(F32)

class Descent(Runner):
    def __init__(self, sc: Scenario, X: np.ndarray, y: np.ndarray, compiled: bool = True):
        import descent as ds

        self.ds, self.sc, self.X, self.y, self.compiled = ds, sc, X, y, compiled
        if compiled:
            load_kernels(sc)
        self.net = ds.nn.MLP(list(sc.sizes), activation=sc.activation, seed=0, dtype=F32)
        self.opt = ds.optim.SGD(self.net.parameters(), lr=sc.lr)

    def epoch(self, seed: int) -> float:
        h = self.ds.fit(self.net, self.X, self.y, loss=self.sc.loss, optimizer=self.opt,
                        epochs=1, batch_size=self.sc.batch_size, seed=seed, verbose=False,
                        compiled=self.compiled)
        return h["loss"][-1]

    def predict(self) -> np.ndarray:
        return self.ds.train.predict_array(self.net, self.X)


# ---- hand-written NumPy ---------------------------------------------------------------------

def _init(sizes: tuple[int, ...], rng: np.random.Generator) -> list[list[np.ndarray]]:
    """He/LeCun-scaled normal weights (in, out) and zero biases, float32."""
    return [[(rng.standard_normal((i, o)) / np.sqrt(i)).astype(F32), np.zeros(o, F32)]
            for i, o in zip(sizes[:-1], sizes[1:], strict=True)]


class HandNumpy(Runner):
    """z = a W + b, a = f(z); δ_L = ∂C/∂z_L; ∂C/∂W = aᵀδ, ∂C/∂b = Σδ, δ ← (δ Wᵀ) ⊙ f'(a)."""

    def __init__(self, sc: Scenario, X: np.ndarray, y: np.ndarray, threads: int | None = None):
        self.sc, self.X, self.y, self.threads = sc, X, y, threads
        self.params = _init(sc.sizes, np.random.default_rng(0))
        self.relu = sc.activation == "relu"

    def _limit(self) -> Any:
        if self.threads is None:
            from contextlib import nullcontext

            return nullcontext()
        from threadpoolctl import threadpool_limits

        return threadpool_limits(self.threads, user_api="blas")

    def epoch(self, seed: int) -> float:
        with self._limit():
            return self._epoch(seed)

    def _epoch(self, seed: int) -> float:
        X, y, b, lr = self.X, self.y, self.sc.batch_size, F32(self.sc.lr)
        params, relu, ce = self.params, self.relu, self.sc.loss == "cross_entropy"
        n, total = len(X), 0.0
        perm = np.random.default_rng(seed).permutation(n)
        for start in range(0, n, b):
            idx = perm[start:start + b]
            x, t = X[idx], y[idx]
            m = len(idx)
            acts = [x]
            for W, c in params[:-1]:
                z = acts[-1] @ W + c
                acts.append(np.maximum(z, 0) if relu else np.tanh(z))
            out = acts[-1] @ params[-1][0] + params[-1][1]
            if ce:
                e = np.exp(out - out.max(axis=1, keepdims=True))
                s = e.sum(axis=1, keepdims=True)
                rows = np.arange(m)
                total += float(np.log(s).sum() - np.log(e[rows, t]).sum())
                delta = e / s
                delta[rows, t] -= 1
                delta /= m
            else:
                diff = out - t.reshape(out.shape)
                total += float(np.vdot(diff, diff)) / out.size * m
                delta = diff * F32(2.0 / out.size)
            for layer in range(len(params) - 1, -1, -1):
                W, c = params[layer]
                gW = acts[layer].T @ delta
                gb = delta.sum(axis=0)
                if layer:  # δ for the layer below, with the weights before this update
                    a = acts[layer]
                    delta = (delta @ W.T) * ((a > 0) if relu else (1 - a * a))
                W -= lr * gW
                c -= lr * gb
        return total / n

    def predict(self, chunk: int = 8192) -> np.ndarray:
        params, relu, X = self.params, self.relu, self.X
        outs = []
        for start in range(0, len(X), chunk):
            a = X[start:start + chunk]
            for W, c in params[:-1]:
                z = a @ W + c
                a = np.maximum(z, 0) if relu else np.tanh(z)
            outs.append(a @ params[-1][0] + params[-1][1])
        return np.concatenate(outs)


# ---- PyTorch --------------------------------------------------------------------------------

class Torch(Runner):
    def __init__(self, sc: Scenario, X: np.ndarray, y: np.ndarray):
        import torch

        self.torch, self.sc = torch, sc
        torch.manual_seed(0)
        layers: list[Any] = []
        for i, (n_in, n_out) in enumerate(zip(sc.sizes[:-1], sc.sizes[1:], strict=True)):
            layers.append(torch.nn.Linear(n_in, n_out))
            if i < len(sc.sizes) - 2:
                layers.append(torch.nn.ReLU() if sc.activation == "relu" else torch.nn.Tanh())
        self.model = torch.nn.Sequential(*layers)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=sc.lr, momentum=0.0)
        self.X = torch.from_numpy(X)
        if sc.loss == "cross_entropy":
            self.y, self.lossf = torch.from_numpy(y), torch.nn.CrossEntropyLoss()
        else:
            self.y, self.lossf = torch.from_numpy(y).reshape(-1, 1), torch.nn.MSELoss()

    def epoch(self, seed: int) -> float:
        torch, model, opt, lossf = self.torch, self.model, self.opt, self.lossf
        X, y, b = self.X, self.y, self.sc.batch_size
        n, total = len(X), 0.0
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        for start in range(0, n, b):
            idx = perm[start:start + b]
            loss = lossf(model(X[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        return total / n

    def predict(self) -> Any:
        with self.torch.inference_mode():
            return self.model(self.X).numpy()


# ---- JAX ------------------------------------------------------------------------------------

class Jax(Runner):
    def __init__(self, sc: Scenario, X: np.ndarray, y: np.ndarray):
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        import jax
        import jax.numpy as jnp

        self.jax, self.sc, self.X, self.y = jax, sc, X, y
        act = jax.nn.relu if sc.activation == "relu" else jnp.tanh
        lr = F32(sc.lr)

        def forward(params: list, x: Any) -> Any:
            for W, c in params[:-1]:
                x = act(x @ W + c)
            return x @ params[-1][0] + params[-1][1]

        def loss_fn(params: list, x: Any, t: Any) -> Any:
            out = forward(params, x)
            if sc.loss == "cross_entropy":
                logp = jax.nn.log_softmax(out)
                return -jnp.mean(jnp.take_along_axis(logp, t[:, None], axis=1))
            return jnp.mean((out - t.reshape(out.shape)) ** 2)

        def step(params: list, x: Any, t: Any) -> tuple[list, Any]:
            loss, grads = jax.value_and_grad(loss_fn)(params, x, t)
            return jax.tree.map(lambda p, g: p - lr * g, params, grads), loss

        self._step_fn = step
        self._step = jax.jit(step, donate_argnums=0)
        self._forward = jax.jit(forward)
        self.params = jax.tree.map(jnp.asarray, _init(sc.sizes, np.random.default_rng(0)))
        self.X_dev = jnp.asarray(X) if sc.predict else None

    def epoch(self, seed: int) -> float:
        X, y, b, step = self.X, self.y, self.sc.batch_size, self._step
        n, params, losses = len(X), self.params, []
        perm = np.random.default_rng(seed).permutation(n)
        for start in range(0, n, b):
            idx = perm[start:start + b]
            # Losses stay on the device: fetching each would stop JAX's asynchronous dispatch.
            params, loss = step(params, X[idx], y[idx])
            losses.append(loss)
        self.params = self.jax.block_until_ready(params)
        return float(np.mean([float(v) for v in losses]))

    def predict(self) -> Any:
        return self.jax.block_until_ready(self._forward(self.params, self.X_dev))


class JaxSync(Jax):
    """The same jitted step, but the loop reads every batch's loss, as a loop that stops at
    the first non-finite loss must (descent's fit does): no step overlaps the next."""

    def epoch(self, seed: int) -> float:
        X, y, b, step = self.X, self.y, self.sc.batch_size, self._step
        n, params, total = len(X), self.params, 0.0
        perm = np.random.default_rng(seed).permutation(n)
        for start in range(0, n, b):
            idx = perm[start:start + b]
            params, loss = step(params, X[idx], y[idx])
            value = float(loss)
            if not np.isfinite(value):
                raise FloatingPointError("diverged")
            total += value * len(idx)
        self.params = params
        return total / n


class JaxScan(Jax):
    """The epoch as one compiled program: `lax.scan` of the jitted step over the batches.

    The permutation is drawn on the host (as every contender does) and handed over as a
    (batches, batch_size) index array; the gather X[idx] happens inside the program.
    """

    def __init__(self, sc: Scenario, X: np.ndarray, y: np.ndarray):
        super().__init__(sc, X, y)
        jax, jnp = self.jax, __import__("jax.numpy").numpy
        step = self._step_fn
        self.X_all, self.y_all = jnp.asarray(X), jnp.asarray(y)

        def epoch(params: list, X: Any, y: Any, order: Any) -> tuple[list, Any]:
            def body(params: list, idx: Any) -> tuple[list, Any]:
                return step(params, X[idx], y[idx])

            return jax.lax.scan(body, params, order)

        self._epoch = jax.jit(epoch, donate_argnums=0)

    def epoch(self, seed: int) -> float:
        X, y, b = self.X_all, self.y_all, self.sc.batch_size
        n = len(self.X)
        perm = np.random.default_rng(seed).permutation(n)
        full = n // b
        params, losses = self._epoch(self.params, X, y, perm[:full * b].reshape(full, b))
        total = float(np.sum(np.asarray(losses, dtype=np.float64))) * b
        if n > full * b:  # the last, smaller batch: one more (separately compiled) step
            tail = perm[full * b:]
            params, loss = self._step(params, self.X[tail], self.y[tail])
            total += float(loss) * len(tail)
        self.params = self.jax.block_until_ready(params)
        return total / n


# ---- scikit-learn ---------------------------------------------------------------------------

class Sklearn(Runner):
    def __init__(self, sc: Scenario, X: np.ndarray, y: np.ndarray):
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        self.sc, self.X, self.y = sc, X, y
        kind = MLPClassifier if sc.loss == "cross_entropy" else MLPRegressor
        self.est = kind(hidden_layer_sizes=sc.sizes[1:-1], activation=sc.activation,
                        solver="sgd", learning_rate="constant", learning_rate_init=sc.lr,
                        momentum=0.0, nesterovs_momentum=False, alpha=0.0,
                        batch_size=sc.batch_size, shuffle=True, random_state=0)
        first = X[:sc.batch_size]  # initialise (and fix the classes) on one batch
        if sc.loss == "cross_entropy":
            self.est.partial_fit(first, y[:sc.batch_size], classes=np.arange(sc.sizes[-1]))
        else:
            self.est.partial_fit(first, y[:sc.batch_size])
        assert self.est.coefs_[0].dtype == F32, "scikit-learn should keep float32"

    def epoch(self, seed: int) -> float:
        self.est.partial_fit(self.X, self.y)
        return float(self.est.loss_)

    def predict(self) -> Any:
        return self.est.predict(self.X)


MAKERS: dict[str, Callable[[Scenario, np.ndarray, np.ndarray], Runner]] = {
    "descent": Descent,
    "numpy": HandNumpy,
    "numpy-1t": lambda sc, X, y: HandNumpy(sc, X, y, threads=1),
    "torch": Torch,
    "jax": Jax,
    "jax-sync": JaxSync,
    "jax-scan": JaxScan,
    "sklearn": Sklearn,
    "descent-engine": lambda sc, X, y: Descent(sc, X, y, compiled=False),
    "descent-baseline": Descent,  # run.py --baseline-src: descent from another checkout
}
