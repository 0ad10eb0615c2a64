"""Tables larger than memory: blocks of whole records, statistics merged into the same
encoder and scalers as in memory, scores from sums equal to the in-memory scores, and
memory that does not grow with the file."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from descent.data import Standardizer, TableEncoder, read_csv
from descent.data.csv_blocks import index_csv_blocks, read_csv_block
from descent.distributed.big_table import train_big_table
from descent.distributed.medians import MedianFinder
from descent.distributed.scores import ScoreSums
from descent.distributed.table_stats import (
    Summary,
    block_parts,
    first_block_spec,
    fit_preprocessing,
    median_scan,
    read_block,
    summarize_block,
    target_labels,
)
from descent.errors import DataError
from descent.tabular.limits import should_stream
from descent.tabular.recipe import Recipe
from descent.tabular.report import score_split


def _write(path, n, seed=0, gaps=0.0):
    """A table of n rows; with `gaps`, that share of the area, garden and color cells is
    left empty (and the first row's area, so a block can start with a gap)."""
    rng = np.random.default_rng(seed)
    colors = np.array(["red", "green", "blue"])
    lines = ["area,garden,color,note,price"]
    for i in range(n):
        area = rng.uniform(20, 200)
        garden = "yes" if rng.random() < 0.3 else "no"
        color = colors[rng.integers(0, 3)]
        price = 3 * area + (40 if garden == "yes" else 0) + rng.normal(0, 10)
        note = '"a, quoted\nnote"' if i % 17 == 0 else "plain"
        cells = [f"{area:.3f}", garden, color]
        cells = ["" if rng.random() < gaps or (gaps and i == 0 and j == 0) else c
                 for j, c in enumerate(cells)]
        lines.append(f"{','.join(cells)},{note},{price:.3f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_blocks_cut_at_record_ends_and_keep_file_line_numbers(tmp_path):
    path = _write(tmp_path / "t.csv", 200)
    whole = read_csv(path)
    blocks = index_csv_blocks(path, block_bytes=500).blocks
    assert len(blocks) > 5
    tables = [read_csv_block(b) for b in blocks]
    assert sum(len(t) for t in tables) == len(whole)
    np.testing.assert_array_equal(np.concatenate([t.line_numbers for t in tables]),
                                  whole.line_numbers)
    np.testing.assert_array_equal(np.concatenate([t.values["note"] for t in tables]),
                                  whole.values["note"])
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n3,4\n5,six\n")
    last = index_csv_blocks(bad, block_bytes=1).blocks[-1]
    with pytest.raises(DataError, match=r"bad.csv, line 4, column 'y'"):
        read_csv_block(last, kinds={"x": "numeric", "y": "numeric"})


def _in_memory(path, spec, blocks, missing):
    """The encoder and scalers `descent train` fits in memory on the same training rows."""
    train_lines = []
    for i, b in enumerate(blocks):
        t = read_block(b, spec)
        train_lines.append(t.line_numbers[block_parts(t, spec, i,
                                                      target_labels(t, spec))["train"]])
    whole = spec.schema.apply(read_csv(path, all_text=True, missing="keep"))
    train = whole.take(np.searchsorted(whole.line_numbers, np.concatenate(train_lines)))
    encoder = TableEncoder("price", spec.schema.feature_columns, task="regression",
                           missing=missing, unknown="ignore",
                           indicators=missing != "error").fit(train)
    X = encoder.transform(train)
    y = encoder.transform_target(train)
    return encoder, Standardizer().fit(X), Standardizer().fit(y), len(train)


@pytest.mark.parametrize("missing, gaps", [("error", 0.0), ("median", 0.1), ("mean", 0.1),
                                           ("median", 0.0)])
def test_merged_statistics_give_the_in_memory_encoder_and_scalers(tmp_path, missing, gaps):
    path = _write(tmp_path / "t.csv", 400, gaps=gaps)
    blocks = index_csv_blocks(path, block_bytes=700).blocks
    spec = first_block_spec(blocks, "price", "auto", ["area", "garden", "color"], 0.2, 0.2, 5,
                            missing=missing)
    summary = sum((summarize_block(b, spec, i) for i, b in enumerate(blocks)), Summary())
    medians = None
    if missing == "median":
        finder = MedianFinder(summary.tops)
        while finder.pending():
            plan = finder.plan()
            for i, b in enumerate(blocks):
                finder.add(median_scan(b, spec, i, plan))
            finder.finish()
        medians = finder.medians()
    encoder, x_scaler, y_scaler = fit_preprocessing(summary, spec, str(path), medians)

    reference, xs, ys, n_train = _in_memory(path, spec, blocks, missing)
    got, want = encoder.to_dict(), reference.to_dict()
    if missing == "mean":  # a mean merged block by block may differ in the last bits
        for a, b in zip(got["columns"], want["columns"], strict=True):
            if a["encoding"] == "numeric":
                assert a.pop("fill") == pytest.approx(b.pop("fill"), rel=1e-12)
    assert got == want
    assert [c.indicator for c in encoder.columns_] == [gaps > 0] * 3
    np.testing.assert_allclose(x_scaler.mean_, xs.mean_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x_scaler.scale_, xs.scale_, rtol=1e-12)
    np.testing.assert_allclose(y_scaler.mean_, ys.mean_, rtol=1e-12)
    np.testing.assert_allclose(y_scaler.scale_, ys.scale_, rtol=1e-12)
    assert summary.rows["train"] == n_train


def test_gaps_without_a_fill_name_the_cell(tmp_path):
    path = _write(tmp_path / "t.csv", 50, gaps=0.1)
    blocks = index_csv_blocks(path).blocks
    spec = first_block_spec(blocks, "price", "auto", None, 0.2, 0.2, 0)
    with pytest.raises(DataError, match=r"t.csv, line \d+, column '\w+': missing value; "
                                        r"fill it in, or impute it with"):
        summarize_block(blocks[0], spec, 0)


@pytest.mark.parametrize("task, k", [("regression", 1), ("classification", 3),
                                     ("classification", 2)])
def test_score_sums_equal_the_in_memory_scores(task, k):
    rng = np.random.default_rng(1)
    n = 301
    if task == "regression":
        y, pred, y_train = rng.normal(size=n), rng.normal(size=n), rng.normal(size=50)
        baseline = float(np.mean(y_train))
    else:
        y = rng.integers(0, k, n)
        pred = rng.dirichlet(np.ones(k), n)
        y_train = rng.integers(0, k, 50)
        baseline = np.bincount(y_train, minlength=k) / 50
    a, b = ScoreSums(task), ScoreSums(task)
    a.add(y[:100], pred[:100], baseline)
    b.add(y[100:], pred[100:], baseline)
    got = (a + b).scores("test")
    want = score_split("test", task, y, y_train, pred, k)
    assert got.n_rows == want.n_rows
    assert list(got.model) == list(want.model) and list(got.baseline) == list(want.baseline)
    for name in want.model:
        # ROC AUC is counted in 2^16 bins of the probability: exact here unless two of the
        # 301 random probabilities fall in one bin
        tol = 1e-4 if name == "ROC AUC" else 1e-12
        assert got.model[name] == pytest.approx(want.model[name], rel=tol, abs=tol)
        assert got.baseline[name] == pytest.approx(want.baseline[name], rel=tol, abs=tol)


def test_streaming_trains_a_tabular_model_that_predict_reads(tmp_path):
    path = _write(tmp_path / "t.csv", 600)
    result = train_big_table(path, "price", features=["area", "garden", "color"],
                             recipe=Recipe(epochs=4, batch_size=16), verbose=False,
                             block_bytes=2000)
    assert sum(result.rows.values()) == 600
    test = {s.split: s for s in result.scores}["test"]
    assert test.model["R²"] > 0.5 > test.baseline["R²"]
    out = tmp_path / "m.safetensors"
    result.model.save(out)
    from descent.tabular.model import TabularModel

    loaded, _ = TabularModel.load(out)
    assert loaded.preprocessing() == result.model.preprocessing()


def test_streaming_order_is_seeded(tmp_path):
    """Blocks in a shuffled order and rows shuffled within each block, both from the seed:
    the same seed gives the same weights bit for bit (another seed, with its own split
    and order, other weights)."""
    path = _write(tmp_path / "t.csv", 300)
    options = dict(recipe=Recipe(epochs=2, batch_size=16), verbose=False, block_bytes=1500)

    def weights(seed):
        result = train_big_table(path, "price", seed=seed, **options)
        return np.concatenate([p.data.ravel() for p in result.model.network.parameters()])

    np.testing.assert_array_equal(weights(3), weights(3))
    assert not np.array_equal(weights(3), weights(4))


def test_streaming_on_a_cluster_gives_the_same_preprocessing(tmp_path, client):
    path = _write(tmp_path / "t.csv", 500)
    options = dict(features=["area", "garden", "price"], recipe=Recipe(epochs=2),
                   verbose=False, block_bytes=2000)
    here = train_big_table(path, "color", **options)
    there = train_big_table(path, "color", client=client, **options)
    assert here.model.preprocessing() == there.model.preprocessing()
    assert here.rows == there.rows
    assert [s.n_rows for s in here.scores] == [s.n_rows for s in there.scores]


def test_streaming_starts_when_the_file_would_not_fit(tmp_path):
    path = _write(tmp_path / "t.csv", 50)
    size = path.stat().st_size
    assert should_stream(path, available=size) is True
    assert should_stream(path, available=1000 * size) is False


_PEAK = textwrap.dedent("""
    import sys, tracemalloc
    import descent.data.csv_blocks as csv_blocks
    from descent.distributed.big_table import train_big_table
    from descent.tabular.recipe import Recipe
    csv_blocks._SCAN_BYTES = 64 * 1024  # the index reads pieces smaller than both files
    tracemalloc.start()
    train_big_table(sys.argv[1], "price", recipe=Recipe(epochs=1, batch_size=64),
                    verbose=False, block_bytes=16 * 1024)
    print(tracemalloc.get_traced_memory()[1])
""")


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_file(tmp_path):
    """Sixteen times the rows, the same peak: memory is bounded by the block, not the file.

    30 000 more rows: keeping one float64 per row would add 240 kB to the traced peak
    (about 2.6 MB), the encoded rows 1.4 MB; the peak may grow by less than 200 kB (the
    list of blocks and their row counts grow, a few bytes a block). The index of the file
    is checked on its own, on 400 000 records, in tests/data/test_csv_blocks.py."""
    peaks = []
    for n in (2000, 32000):
        path = _write(tmp_path / f"t{n}.csv", n)
        done = subprocess.run([sys.executable, "-c", _PEAK, str(path)], capture_output=True,
                              text=True, check=True)
        peaks.append(int(done.stdout.split()[-1]))
    small, large = peaks
    assert large - small < 200_000, peaks


def test_the_block_cache_has_no_name_so_a_killed_run_leaves_nothing(tmp_path, monkeypatch):
    """The encoded copy of a large file is as large as the file: it must not outlive a
    run killed by SIGKILL, which no cleanup code sees. Nameless files cannot."""
    import tempfile

    import numpy as np

    from descent.distributed.big_table import _BlockCache

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cache = _BlockCache(3, np.float64)
    X, y = np.arange(6.0).reshape(2, 3), np.array([1.0, 2.0])
    cache.write("train", X, y)
    assert list(tmp_path.iterdir()) == []  # while open, nothing has a name to leave behind
    X_back, y_back = cache.read("train", 0)
    np.testing.assert_array_equal(X_back, X)
    np.testing.assert_array_equal(y_back, y)
    cache.close()
