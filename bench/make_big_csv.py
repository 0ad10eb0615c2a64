"""Write a large synthetic house-price-like CSV for out-of-core and cluster runs.

    python bench/make_big_csv.py /tmp/big.csv --megabytes 2048

Eight numeric columns, one yes/no column, one three-way category, and a price that depends
on all of them (plus noise); rows generated in blocks, so memory stays flat.
"""

from __future__ import annotations

import argparse

import numpy as np

HEADER = "area,rooms,age,dist,x1,x2,x3,x4,garden,kind,price\n"


def block(rng: np.random.Generator, n: int) -> str:
    x = rng.normal(size=(n, 8))
    x[:, 0] = np.abs(x[:, 0]) * 60 + 40
    x[:, 1] = rng.integers(1, 7, n)
    garden = rng.random(n) < 0.4
    kind = rng.integers(0, 3, n)
    price = (2.0 * x[:, 0] + 15 * x[:, 1] - 3 * x[:, 2] + 10 * np.tanh(x[:, 3])
             + 5 * x[:, 4] * x[:, 5] + 20 * garden + 12 * kind + rng.normal(0, 5, n))
    names = np.array(["flat", "house", "villa"])[kind]
    yes = np.where(garden, "yes", "no")
    cols = [np.char.mod("%.2f", x[:, 0]), x[:, 1].astype(int).astype(str)]
    cols += [np.char.mod("%.4f", x[:, j]) for j in range(2, 8)]
    cols += [yes, names, np.char.mod("%.2f", price)]
    return "\n".join(",".join(row) for row in zip(*cols, strict=True)) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--megabytes", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    target = int(args.megabytes * 1024 * 1024)
    written = 0
    with open(args.path, "w") as f:
        f.write(HEADER)
        while written < target:
            text = block(rng, 20_000)
            f.write(text)
            written += len(text)
    print(f"{args.path}: {written / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
