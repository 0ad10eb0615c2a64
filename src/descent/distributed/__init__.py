"""Beyond one machine: data-parallel training on a Dask cluster, and tables larger than
memory (`descent train --cluster`, `--stream`).

    >>> import descent as ds
    >>> ds.distributed.fit.__name__
    'fit'

Needs the `distributed` extra (dask[array,dataframe] and distributed); nothing here is
imported by `import descent` until used.
"""

from descent.distributed.cluster import ClusterError, close, connect
from descent.distributed.fit import fit
from descent.distributed.joblib_backend import resilient_backend

__all__ = ["ClusterError", "close", "connect", "fit", "resilient_backend"]
