"""Average k trained MLPs by merging them into one wider MLP that computes the mean exactly.

k networks of the same shape [d, h1, ..., hL, o] become one network
[d, k·h1, ..., k·hL, o]: the first layer stacks the members' weights side by side, each
hidden-to-hidden layer is block-diagonal (member j's units only feed member j's), and the
output layer stacks the members' output weights divided by k with the mean of their output
biases. Its output is therefore (1/k) Σ_j net_j(x) for every x, to float rounding, and it is
an ordinary `MLP`: saved, loaded, explained and plotted like any other. The output
activation must be the identity (a mean after a nonlinearity is not a nonlinearity of
a mean).

    >>> import numpy as np
    >>> from descent.nn import MLP
    >>> from descent.train import predict_array
    >>> nets = [MLP([3, 4, 2], "tanh", seed=s, dtype=np.float64) for s in range(3)]
    >>> merged = merge_networks(nets)
    >>> X = np.random.default_rng(0).normal(size=(5, 3))
    >>> merged.sizes, bool(np.allclose(predict_array(merged, X),
    ...                                np.mean([predict_array(n, X) for n in nets], axis=0)))
    ([3, 12, 2], True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from descent.nn import MLP, Linear


def merge_networks(members: Sequence[MLP]) -> MLP:
    """One MLP whose output is the mean of the members' outputs (see the module doc).

    Raises ValueError when the members differ in shape, activation or dtype, or end in an
    output activation other than the identity.
    """
    first = members[0]
    k = len(members)
    for m in members:
        if (m.sizes, m.activation, m.output_activation) != \
                (first.sizes, first.activation, first.output_activation):
            raise ValueError("merge_networks: the members must have the same shape and "
                             "activations")
    if first.output_activation not in (None, "identity"):
        raise ValueError("merge_networks: the mean of outputs after an output activation "
                         "is not one network; use an identity output")
    if k == 1:
        return first
    sizes = first.sizes
    wide = [sizes[0], *(k * h for h in sizes[1:-1]), sizes[-1]]
    dtype = first[0].dtype
    merged = MLP(wide, first.activation, None, init=first.init, dtype=dtype)
    layers = [[layer for layer in m if isinstance(layer, Linear)] for m in members]
    merged_layers = [layer for layer in merged if isinstance(layer, Linear)]
    last = len(merged_layers) - 1
    for i, target in enumerate(merged_layers):
        W = np.zeros_like(target.weight.data)
        b = np.zeros_like(target.bias.data)
        for j in range(k):
            w_j, b_j = layers[j][i].weight.data, layers[j][i].bias.data
            n_in, n_out = w_j.shape
            rows = slice(None) if i == 0 else slice(j * n_in, (j + 1) * n_in)
            if i == last:
                W[rows, :] = w_j / k
                b += b_j / k
            else:
                W[rows, j * n_out:(j + 1) * n_out] = w_j
                b[j * n_out:(j + 1) * n_out] = b_j
        target.weight.data[...] = W
        target.bias.data[...] = b
    return merged
