"""Picture quality: descent's default picture network against its MLP and a logistic model.

On the shipped cats and dogs, for each seed: one duplicate-aware stratified split (70%
train, 10% validation for early stopping, 20% test), then the same training call
(`descent.pictures.train_images`: the picture recipe, AdamW 1e-3, batches of 64, early
stopping) with three networks:

- cnn: the default `ConvNet` that `descent train --images` builds, with augmentation;
- mlp: Flatten, 784 -> 128 relu -> 2 (the descent MLP), without augmentation;
- logistic: Flatten, 784 -> 2 (a softmax regression), without augmentation.

Then the 8x8 digits (scikit-learn's copy, 10 classes): a small ConvNet against the MLP,
same protocol. Prints one line per run and the medians; seconds are training wall time on
whatever machine runs it (a shared, loaded machine makes them noisy: report medians).

    python bench/pictures_quality.py [--seeds 0,1,2] [--only cats|digits]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import descent as ds
from descent.data import ImageSet, load_cats_dogs, load_digits
from descent.pictures import DEFAULT_AUGMENTATION, train_images


def flat(network: ds.nn.Module) -> ds.nn.Module:
    return ds.nn.Sequential(ds.nn.Flatten(), network)


def digits() -> ImageSet:
    X, y = load_digits()
    pictures = np.rint(X.reshape(-1, 1, 8, 8) * (255 / 16)).astype(np.uint8)
    return ImageSet(pictures, y, [str(k) for k in range(10)],
                    [f"digit_{i}" for i in range(len(y))], "digits")


def contenders(images: ImageSet, seed: int) -> dict[str, tuple[ds.nn.Module | None, bool]]:
    C, H, W = images.shape
    K = len(images.classes)
    rng = np.random.default_rng(seed)
    if images.source == "digits":
        return {
            "cnn (ConvNet 16/32 3x3, aug. off)": (ds.nn.ConvNet(
                images.shape, K, channels=(16, 32), kernel_size=3, hidden=(64,), seed=rng),
                False),
            "mlp 64-128-10": (flat(ds.nn.MLP([C * H * W, 128, K], activation="relu",
                                             seed=rng)), False),
        }
    return {
        "cnn (default, augmented)": (None, True),
        "mlp 784-128-2": (flat(ds.nn.MLP([C * H * W, 128, K], activation="relu", seed=rng)),
                          False),
        "logistic 784-2": (flat(ds.nn.MLP([C * H * W, K], seed=rng)), False),
    }


def run(images: ImageSet, seeds: list[int]) -> None:
    results: dict[str, list[tuple[float, float, int]]] = {}
    for seed in seeds:
        for name, (network, augment) in contenders(images, seed).items():
            start = time.perf_counter()
            r = train_images(images, network=network, seed=seed, verbose=False,
                             augmentation=DEFAULT_AUGMENTATION if augment else None)
            seconds = time.perf_counter() - start
            accuracy = next(s.model["accuracy"] for s in r.scores if s.split == "test")
            results.setdefault(name, []).append((accuracy, seconds, len(r.history)))
            print(f"{images.source} seed {seed} {name:34s} test accuracy {accuracy:.4f}  "
                  f"{len(r.history):3d} epochs  {seconds:6.1f} s", flush=True)
    print(f"\n{images.source}: median over seeds {seeds}")
    for name, runs in results.items():
        accs = [a for a, _, _ in runs]
        print(f"  {name:34s} accuracy {statistics.median(accs):.4f} (min {min(accs):.4f}, "
              f"max {max(accs):.4f})  time {statistics.median(s for _, s, _ in runs):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--only", choices=["cats", "digits"])
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.only != "digits":
        run(load_cats_dogs(), seeds)
    if args.only != "cats":
        run(digits(), seeds)


if __name__ == "__main__":
    main()
