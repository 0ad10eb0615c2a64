"""`descent train --stream` and `--cluster`: the same model file as in memory, read back by
`descent predict`; options that do not fit are one line and exit code 2."""

from __future__ import annotations

import logging

import pytest

from descent.distributed import close, connect
from descent.tabular.model import TabularModel
from tests.cli.conftest import WINDSOR_CSV, run


@pytest.fixture(scope="module")
def scheduler():
    logging.getLogger("distributed").setLevel(logging.ERROR)
    client = connect("local:2", processes=False)
    yield client.scheduler.address
    close(client)


def _keys(path):
    model, extra = TabularModel.load(path)
    return model, extra


@pytest.mark.parametrize("how", ["--stream", "--cluster"])
def test_big_modes_write_a_tabular_model_that_predict_reads(how, scheduler, tmp_path):
    out = tmp_path / "m.safetensors"
    where = [how] if how == "--stream" else [how, scheduler]
    result = run("train", WINDSOR_CSV, "--target", "price", "--epochs", "3", "--quiet",
                 "--out", out, *where)
    assert result.exit_code == 0, result.output
    assert "test (held out)" in result.output and "R²" in result.output
    model, extra = _keys(out)
    assert model.task == "regression" and extra["rows"]["train"] > 0
    assert extra["trained"] == ("streaming" if how == "--stream" else "on a Dask cluster")
    predicted = run("predict", out, WINDSOR_CSV, "--out", tmp_path / "p.csv")
    assert predicted.exit_code == 0, predicted.output
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 547


def test_streamed_preprocessing_is_the_cluster_preprocessing(scheduler, tmp_path):
    models = []
    for where in (["--stream"], ["--cluster", scheduler]):
        out = tmp_path / f"m{len(models)}.safetensors"
        result = run("train", WINDSOR_CSV, "--target", "price", "--epochs", "1", "--quiet",
                     "--out", out, *where)
        assert result.exit_code == 0, result.output
        models.append(_keys(out)[0].preprocessing())
    assert models[0] == models[1]


@pytest.mark.parametrize("args, message", [
    (["--stream"], "--stream and --cluster need a CSV file"),
    ([WINDSOR_CSV, "--target", "price", "--stream", "--plots", "p"], "leave out --plots"),
    ([WINDSOR_CSV, "--target", "price", "--stream", "--missing", "most_frequent"],
     "--stream fills gaps with --missing median or mean"),
    ([WINDSOR_CSV, "--target", "price", "--cluster", "localhost"],
     "--cluster must be local:N"),
    ([WINDSOR_CSV, "--stream"], "--target is required"),
])
def test_options_that_do_not_fit_are_one_line(args, message):
    result = run("train", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output


def test_cv_folds_run_on_the_cluster_with_the_same_scores(scheduler, tmp_path):
    from distributed import Client, get_task_stream

    common = ["train", WINDSOR_CSV, "--target", "price", "--epochs", "3", "--cv", "3",
              "--quiet"]
    here = run(*common, "--out", tmp_path / "a.safetensors")
    assert here.exit_code == 0, here.output
    watcher = Client(scheduler)
    try:
        with get_task_stream(watcher) as tasks:
            there = run(*common, "--cluster", scheduler, "--out", tmp_path / "b.safetensors")
        assert there.exit_code == 0, there.output
        assert len(tasks.data) >= 3  # one task per fold
    finally:
        watcher.close()
    table = [line for line in here.output.splitlines() if "│" in line]
    assert table and table == [line for line in there.output.splitlines() if "│" in line]


def test_cv_with_stream_is_refused_in_one_line():
    result = run("train", WINDSOR_CSV, "--target", "price", "--cv", "3", "--stream")
    assert result.exit_code == 2 and "--cv reads the table into memory" in result.output


def _gappy_windsor(path):
    """The Windsor table with every 7th lotsize, every 11th driveway and every 13th
    prefarea cell left empty."""
    lines = WINDSOR_CSV.read_text().splitlines()
    header = lines[0].split(",")
    blank = {header.index("lotsize"): 7, header.index("driveway"): 11,
             header.index("prefarea"): 13}
    out = [lines[0]]
    for i, line in enumerate(lines[1:]):
        cells = line.split(",")
        out.append(",".join("" if j in blank and i % blank[j] == 0 else c
                            for j, c in enumerate(cells)))
    path.write_text("\n".join(out) + "\n")
    return path


def test_gaps_are_filled_as_in_memory_with_the_same_schema(scheduler, tmp_path):
    """A file with gaps: --stream and --cluster fill them with the training medians and
    most frequent values plus missing indicators, as in memory; the model files hold the
    same schema and the same features as the in-memory one."""
    csv = _gappy_windsor(tmp_path / "gappy.csv")
    models = {}
    for how, where in (("memory", ["--no-stream", "--cv", "0", "--ensemble", "1"]),
                       ("stream", ["--stream"]), ("cluster", ["--cluster", scheduler])):
        out = tmp_path / f"{how}.safetensors"
        result = run("train", csv, "--target", "price", "--epochs", "2", "--quiet",
                     "--no-refit", "--out", out, *where)
        assert result.exit_code == 0, result.output
        models[how] = _keys(out)[0]
    memory, stream, cluster = models["memory"], models["stream"], models["cluster"]
    assert stream.schema.to_dict() == memory.schema.to_dict()
    assert stream.encoder.feature_names_ == memory.encoder.feature_names_
    assert {f for f in stream.encoder.feature_names_ if f.endswith(" missing")} == {
        "lotsize missing", "driveway missing", "prefarea missing"}
    assert stream.preprocessing() == cluster.preprocessing()
    fills = {c.name: c.fill for c in stream.encoder.columns_}
    assert fills["driveway"] == 1.0 and fills["prefarea"] == 0.0  # the most frequent
    predicted = run("predict", tmp_path / "stream.safetensors", csv,
                    "--out", tmp_path / "p.csv")
    assert predicted.exit_code == 0, predicted.output
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 547


@pytest.mark.parametrize("option, flag", [
    (["--ensemble", "3"], "--ensemble"),
    (["--refit"], "--refit"),
    (["--class-weight", "balanced"], "--class-weight"),
    (["--output-activation", "sigmoid"], "--output-activation"),
])
@pytest.mark.parametrize("how", [["--stream"], ["--cluster", "local:1"]])
def test_options_of_a_table_in_memory_are_refused_up_front(option, flag, how, tmp_path):
    out = tmp_path / "m.safetensors"
    result = run("train", WINDSOR_CSV, "--target", "price", *how, *option, "--out", out)
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert line.startswith(f"error: {how[0]} ") and f"leave out {flag}" in line
    assert ("--no-stream" in line) == (how[0] == "--stream")
    assert not out.exists()  # refused before any work


def test_the_options_they_honour_are_accepted(tmp_path):
    """--no-refit, --ensemble 1, --class-weight none, --output-activation identity: what
    streaming does anyway; --tol is the early-stopping threshold, as in memory."""
    out = tmp_path / "m.safetensors"
    common = ["train", WINDSOR_CSV, "--target", "price", "--stream", "--epochs", "8",
              "--patience", "3", "--quiet", "--out", out]
    result = run(*common, "--no-refit", "--ensemble", "1", "--class-weight", "none",
                 "--output-activation", "identity")
    assert result.exit_code == 0, result.output
    assert _keys(out)[1]["epochs_run"] > 5
    # no improvement is big enough: the first epoch, then patience + 1 without one
    result = run(*common, "--tol", "1e9")
    assert result.exit_code == 0, result.output
    assert _keys(out)[1]["epochs_run"] == 5
