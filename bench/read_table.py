"""Seconds to read a table CSV as `descent train` reads it, and to encode it, for one or two
source trees side by side.

    .venv/bin/python bench/read_table.py FILE:TARGET ...
    .venv/bin/python bench/read_table.py --compare /tmp/old/src --rounds 3 \\
        ../shared/datasets/tabular/modeldata_ames.csv:Sale_Price

"read" is `read_typed_csv` (packed text, schema step, typed columns); "encode" is what
`descent train` does with the typed table per fit: an encoder fitted on every row (median
fill, missing indicators), the feature matrix made, a scaler fitted on it and the matrix
made again standardized (`table_training._matrix`). Each tree runs in its own process
(`PYTHONPATH=TREE`, one thread), the trees alternating round by round so that both see the
same load; each process times `--reps` reads of every file, the first included. Medians
over every timing of a tree are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _time_here(specs: list[str], reps: int) -> dict[str, list[list[float]]]:
    """file name -> [read seconds, encode seconds] of `reps` runs, in this process."""
    import numpy as np

    from descent.data import Standardizer, TableEncoder
    from descent.data.typed_csv import read_typed_csv
    from descent.tabular.table_training import _matrix

    out: dict[str, list[list[float]]] = {}
    for spec in specs:
        path, target = spec.rsplit(":", 1)
        reads, encodes = [], []
        for _ in range(reps):
            start = time.perf_counter()
            read = read_typed_csv(path, target)
            middle = time.perf_counter()
            enc = TableEncoder(target=target, features=read.schema.feature_columns,
                               missing="median", unknown="ignore",
                               indicators=True).fit(read.table)
            every = np.arange(len(read.table))
            scaler = Standardizer().fit(_matrix(enc, read.table, every))
            _matrix(enc, read.table, every, scaler)
            reads.append(middle - start)
            encodes.append(time.perf_counter() - middle)
        out[Path(path).name] = [reads, encodes]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="FILE:TARGET")
    parser.add_argument("--compare", help="another source tree (a src folder) to time too")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--here", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.here:  # one process's timings, as JSON, for the parent
        print(json.dumps(_time_here(args.files, args.reps)))
        return
    trees = {"this tree": str(Path(__file__).resolve().parents[1] / "src")}
    if args.compare:
        trees = {"compared": args.compare, **trees}
    times: dict[str, dict[str, list[list[float]]]] = {t: {} for t in trees}
    for _ in range(args.rounds):
        for name, src in trees.items():
            env = dict(os.environ, PYTHONPATH=src, OMP_NUM_THREADS="1",
                       OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
            result = subprocess.run([sys.executable, __file__, "--here", "--reps",
                                     str(args.reps), *args.files], env=env, check=True,
                                    capture_output=True, text=True)
            for file, (reads, encodes) in json.loads(result.stdout).items():
                got = times[name].setdefault(file, [[], []])
                got[0].extend(reads)
                got[1].extend(encodes)
    names = list(trees)
    print("| file | " + " | ".join(f"read ({n}) | encode ({n})" for n in names) + " | runs |")
    print("|---|" + "---:|" * (2 * len(names) + 1))
    for file in times[names[0]]:
        cells = [f"{statistics.median(times[n][file][k]):.3f} s" for n in names for k in (0, 1)]
        print(f"| {file} | " + " | ".join(cells) + f" | {len(times[names[0]][file][0])} |")


if __name__ == "__main__":
    main()
