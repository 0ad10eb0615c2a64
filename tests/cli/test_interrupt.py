"""Ctrl-C: never an untrained model over a trained one; always exit 130 and say so."""

from __future__ import annotations

import importlib
import os
import signal

import pytest

from descent.tabular.model import TabularModel
from descent.tabular.training import WEIGHT_DECAYS

from .conftest import QUICK, run

fit_module = importlib.import_module("descent.train.fit")
stacked_module = importlib.import_module("descent.train.stacked")


def _ctrl_c_at_batch(monkeypatch, at: int) -> None:
    """Deliver a real SIGINT to this process when batch number `at` (0-based, counted over
    the whole run) is handed out, as a user pressing Ctrl-C would: by `fit` (one network)
    or by the stacked fit (several networks, one batch each per step)."""
    count = {"n": 0}

    def counting(real):
        def batches(*args, **kwargs):
            for idx in real(*args, **kwargs):
                if count["n"] == at:
                    os.kill(os.getpid(), signal.SIGINT)
                count["n"] += 1
                yield idx
        return batches

    monkeypatch.setattr(fit_module, "iterate_minibatches",
                        counting(fit_module.iterate_minibatches))
    monkeypatch.setattr(stacked_module, "epoch_batches", counting(stacked_module.epoch_batches))


def test_ctrl_c_in_the_first_epoch_keeps_the_existing_model(tmp_path, trained_model,
                                                            monkeypatch):
    out = tmp_path / "model.safetensors"
    out.write_bytes(trained_model.read_bytes())
    before = out.read_bytes()
    _ctrl_c_at_batch(monkeypatch, 0)
    result = run("train", *QUICK, "--out", out)
    assert result.exit_code == 130, result.output
    assert out.read_bytes() == before
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted "), lines
    assert lines[0].endswith(f"nothing saved; {out} is unchanged")


def test_ctrl_c_in_the_first_epoch_writes_no_new_model(tmp_path, monkeypatch):
    out = tmp_path / "model.safetensors"
    _ctrl_c_at_batch(monkeypatch, 0)
    result = run("train", *QUICK, "--out", out)
    assert result.exit_code == 130, result.output
    assert not out.exists()


def test_ctrl_c_after_an_epoch_saves_it_and_still_exits_130(tmp_path, monkeypatch):
    out = tmp_path / "model.safetensors"
    _ctrl_c_at_batch(monkeypatch, 20)  # one split of the embedded data: 11 batches an epoch
    # One network (no ensemble, no choice of weight decay): what it learned is kept.
    result = run("train", "--cv", "0", "--ensemble", "1", "--weight-decay", "0.01",
                 "--epochs", "50", "--out", out)
    assert result.exit_code == 130, result.output
    assert out.exists()
    assert "refit" not in result.stdout  # after Ctrl-C, no second training
    assert "interrupted after 1 epoch(s); saved the model to" in result.stderr


STOPS = {  # a training made of several fits stops at the one Ctrl-C lands in
    "cross-validation": (["--cv", "3", "--ensemble", "1", "--weight-decay", "0.01"],
                         "interrupted during fold 1 of 3 of the cross-validation"),
    "weight decay": (["--cv", "0", "--ensemble", "1"],
                     "interrupted while choosing the weight decay (network 1 of "
                     f"{len(WEIGHT_DECAYS)})"),
    # without a refit the evaluated fit trains the whole ensemble (with one, only its
    # first network: see the next test)
    "ensemble": (["--cv", "0", "--ensemble", "3", "--weight-decay", "0.01", "--no-refit"],
                 "interrupted while training network 1 of 3 of the ensemble"),
}


@pytest.mark.parametrize("what", list(STOPS))
@pytest.mark.parametrize("at", [0, 40])
def test_ctrl_c_in_a_training_of_several_fits_stops_it_and_saves_nothing(tmp_path, monkeypatch,
                                                                         what, at):
    out = tmp_path / "model.safetensors"
    _ctrl_c_at_batch(monkeypatch, at)
    options, expected = STOPS[what]
    result = run("train", *options, "--epochs", "50", "--out", out)
    assert result.exit_code == 130, result.output
    assert not out.exists()
    assert result.stderr.strip() == f"{expected}: nothing saved"
    assert "refit" not in result.stdout


def test_ctrl_c_in_the_refit_of_an_ensemble_stops_it_and_saves_nothing(tmp_path, monkeypatch):
    """With a refit, the evaluation trains one network (a stack of one) and the refit the
    whole ensemble (a stack of three): Ctrl-C in the refit's first batch stops all its
    networks."""
    out = tmp_path / "model.safetensors"
    count = {"n": 0}
    real = stacked_module.epoch_batches

    def batches(orders, *args, **kwargs):
        for idx in real(orders, *args, **kwargs):
            if len(orders) == 3:  # the refit's stack
                if count["n"] == 0:
                    os.kill(os.getpid(), signal.SIGINT)
                count["n"] += 1
            yield idx

    monkeypatch.setattr(stacked_module, "epoch_batches", batches)
    result = run("train", "--cv", "0", "--ensemble", "3", "--weight-decay", "0.01",
                 "--epochs", "5", "--out", out)
    assert result.exit_code == 130, result.output
    assert not out.exists()
    assert "refit on all 546 rows for" in result.stdout
    assert result.stderr.strip() == ("interrupted while training network 1 of 3 of the "
                                     "ensemble: nothing saved")


def test_ctrl_c_in_the_evaluation_of_an_ensemble_keeps_its_network(tmp_path, monkeypatch):
    """With a refit, the evaluated fit of an ensemble recipe is one network: Ctrl-C after
    an epoch of it keeps that network, as with --ensemble 1, and skips the refit."""
    out = tmp_path / "model.safetensors"
    _ctrl_c_at_batch(monkeypatch, 20)  # one split of the embedded data: 11 batches an epoch
    result = run("train", "--cv", "0", "--ensemble", "3", "--weight-decay", "0.01",
                 "--epochs", "50", "--out", out)
    assert result.exit_code == 130, result.output
    assert "refit" not in result.stdout
    assert "interrupted after 1 epoch(s); saved the model to" in result.stderr
    model, _ = TabularModel.load(out)
    assert model.network.sizes[1] == 64  # one network, not three


@pytest.mark.parametrize("command", [["predict", "{model}", "{csv}"],
                                     ["explain", "{model}"]])
def test_ctrl_c_anywhere_else_exits_130_with_one_line(command, trained_model, monkeypatch):
    import descent.tabular.model as model_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(model_module.TabularModel, "load", interrupted)
    result = run(*[a.format(model=trained_model, csv=trained_model) for a in command])
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted"
