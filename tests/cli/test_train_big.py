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
    ([WINDSOR_CSV, "--target", "price", "--stream", "--missing", "mean"],
     "--stream needs a file without gaps"),
    ([WINDSOR_CSV, "--target", "price", "--cluster", "localhost"],
     "--cluster must be local:N"),
    ([WINDSOR_CSV, "--stream"], "--target is required"),
])
def test_options_that_do_not_fit_are_one_line(args, message):
    result = run("train", *args)
    assert result.exit_code == 2
    assert message in result.output
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
