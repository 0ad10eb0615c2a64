"""Plots never leave a truncated picture, and stay drawable for many classes."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

import descent.io.atomic as atomic_module
from descent.cli.plots import LABELLED_CLASSES, MAX_FIGURE_INCHES, confusion_figure
from descent.errors import SaveError
from descent.explain.descent_plots import plot_descent
from descent.explain.training_plots import plot_loss, save_figure

from .conftest import QUICK, run


def _disk_full(monkeypatch):
    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic_module.os, "write", full)


@pytest.mark.parametrize("draw", ["loss", "descent"])
def test_a_full_disk_leaves_the_old_picture_and_names_the_path(tmp_path, monkeypatch, draw):
    path = tmp_path / "plot.png"
    path.write_bytes(b"the previous picture")
    _disk_full(monkeypatch)
    with pytest.raises(SaveError, match=f"could not save {path}: no space left"):
        if draw == "loss":
            save_figure(plot_loss({"loss": [3.0, 2.0, 1.0]}), path)
        else:
            plot_descent(lambda x: x**2, 3.0, path=path)
    assert path.read_bytes() == b"the previous picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]


def test_train_plots_on_a_full_disk_is_one_line_naming_the_file(tmp_path, monkeypatch):
    # `descent train` imports the plotting helpers when --plots asks for them (not at
    # start), so the patch goes where they live.
    import descent.explain.training_plots as training_plots

    plots = tmp_path / "plots"
    real = training_plots.save_figure

    def full_disk_for_plots(fig, path, *args):
        _disk_full(monkeypatch)  # the model is saved; the disk fills up on the pictures
        return real(fig, path, *args)

    monkeypatch.setattr(training_plots, "save_figure", full_disk_for_plots)
    result = run("train", *QUICK, "--out", tmp_path / "m.safetensors", "--plots", plots)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (f"error: could not save {plots / 'loss.png'}: no space "
                                     "left on the device (disk full); any previous file at "
                                     "that path is unchanged")
    assert list(plots.iterdir()) == []


def test_a_confusion_matrix_of_many_classes_stays_readable():
    rng = np.random.default_rng(0)
    k = 300
    y = rng.integers(0, k, 2000)
    fig = confusion_figure(y, y, [f"class {i}" for i in range(k)], "many")
    ax = fig.axes[0]
    assert max(fig.get_size_inches()) <= MAX_FIGURE_INCHES + 1.2
    assert len(ax.texts) == 0  # not 90,000 cell labels nobody could read
    assert len(ax.get_xticks()) <= 12
    assert "number" in ax.get_xlabel()


def test_a_confusion_matrix_of_few_classes_labels_every_cell():
    y = np.arange(LABELLED_CLASSES) % 5
    fig = confusion_figure(y, y, [str(i) for i in range(5)], "few")
    assert len(fig.axes[0].texts) == 25
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0", "1", "2", "3", "4"]
