"""Where the work runs: a Dask client for `local:N` or a scheduler address, and the one
error that says the cluster went away."""

from __future__ import annotations

import re
from typing import Any

from descent.errors import DescentError


class ClusterError(DescentError, ConnectionError):
    """The Dask scheduler (or every worker) is gone; the message says what was kept.
    `lost` is the message's first part, what was lost and where, for a caller that says
    in its own words what it kept."""

    def __init__(self, message: str, lost: str | None = None) -> None:
        super().__init__(message)
        self.lost = message if lost is None else lost


LOCAL = re.compile(r"local(?::(\d+))?$")


def connect(cluster: str, *, processes: bool = True) -> Any:
    """A `distributed.Client` for `cluster`: "local:N" starts a LocalCluster of N worker
    processes with one thread each (one BLAS thread each, so N workers use N cores);
    "tcp://host:8786" connects to a running scheduler.

    Raises ValueError naming the accepted forms for anything else, and ClusterError when
    the scheduler cannot be reached.

    >>> client = connect("local:1", processes=False)
    >>> len(client.scheduler_info()["workers"])
    1
    >>> client.close(); client.cluster.close()
    """
    from distributed import Client, LocalCluster

    text = str(cluster).strip()
    local = LOCAL.match(text)
    if local:
        n = int(local.group(1) or 1)
        if not 1 <= n <= 256:
            raise ValueError(f"--cluster local:N needs 1 <= N <= 256 workers, got {n}")
        lc = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes,
                          dashboard_address=":0")
        return Client(lc)
    if not re.match(r"(tcp|tls|inproc|ws|wss)://[^\s]+$", text):
        raise ValueError(f"--cluster must be local:N (e.g. local:4) or a scheduler address "
                         f"such as tcp://host:8786, got {cluster!r}")
    try:
        return Client(text, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"--cluster {text}: cannot reach the Dask scheduler ({error})"
                           ) from None


def cluster_gone(client: Any) -> bool:
    """Whether `client` has lost its scheduler (closed, or trying to reconnect)."""
    return client.status != "running" or client.scheduler is None


def on_cluster(client: Any, where: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs), a call to the cluster; when it fails because the scheduler is
    gone (whatever form the failure takes: a closed comm, a cancelled future), a
    ClusterError "lost the Dask cluster <where> (...)"; the task's own errors as they are.
    """
    try:
        return fn(*args, **kwargs)
    except Exception as error:
        if cluster_gone(client):
            raise ClusterError(f"lost the Dask cluster {where} ({type(error).__name__}: "
                               f"{error})") from None
        raise


def close(client: Any) -> None:
    """Close a client and, if `connect` started it, its LocalCluster."""
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()
