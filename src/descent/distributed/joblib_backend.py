"""Many models at once on Dask (GridSearchCV, cross_val_score, any joblib `Parallel`) with
no work lost when a worker process dies.

joblib's own `parallel_backend("dask")` scatters every argument larger than 1 kB (the
data, and each fold's row indices) to ONE worker and sends the tasks a reference to it. A
worker killed in the middle of a search takes that data with it; Dask cannot rebuild
scattered data, so the tasks that need it are cancelled and the search fails
(`FutureCancelledError: ... already forgotten`). Here the arguments travel inside each
task instead: the client keeps every task whole, so the scheduler reruns the tasks of a
lost worker on the surviving ones and the search finishes with the results of an
undisturbed run (tests/distributed/test_faults.py). The price is that the data is sent
with each batch of fits, which is small for the tables the estimators train on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

NAME = "descent-dask"


def _backend_class() -> type:
    # joblib keeps its Dask backend in a private module; it is the documented "dask"
    # backend, subclassed here only to switch its automatic scattering off.
    from joblib._dask import DaskDistributedBackend

    class ResilientDaskBackend(DaskDistributedBackend):  # type: ignore[misc]
        """joblib's Dask backend without automatic scattering (see the module doc)."""

        def start_call(self) -> None:
            super().start_call()
            self.call_data_futures = None  # joblib then leaves the arguments in the task

        def stop_call(self) -> None:
            self.call_data_futures = {}  # joblib's stop_call clears it
            super().stop_call()

    return ResilientDaskBackend


@contextmanager
def resilient_backend(client: Any = None, **options: Any) -> Iterator[None]:
    """A `joblib.parallel_backend` on the Dask cluster of `client` (None: the current
    client) under which a killed worker loses no work; `options` as joblib's "dask"
    backend takes them.

    >>> from sklearn.model_selection import cross_val_score
    >>> import descent as ds
    >>> from descent.distributed import close, connect
    >>> from descent.sklearn import NeuralNetRegressor
    >>> client = connect("local:2", processes=False)
    >>> X, y, _ = ds.data.load_windsor_xy()
    >>> with resilient_backend(client):
    ...     scores = cross_val_score(NeuralNetRegressor(epochs=3, random_state=0), X, y,
    ...                              cv=3, n_jobs=-1)
    >>> scores.shape
    (3,)
    >>> close(client)
    """
    from joblib import parallel_backend, register_parallel_backend

    register_parallel_backend(NAME, _backend_class())
    if client is not None:
        options["client"] = client
    with parallel_backend(NAME, **options):
        yield
