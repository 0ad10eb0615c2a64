"""No command writes onto one of its inputs, and every output is checked before any work.

The class of failure: an output path that names an input (directly, through a relative
path, a symbolic link or a hard link), or an output that cannot be written (its folder is
missing, is a file, is read-only; the path is a folder). Each command that writes goes
through `descent.cli.outputs.check_outputs`, so each case is tried on every such command.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import descent.cli.outputs as outputs_module
from descent.cli.outputs import OutputError, check_outputs, same_file

from .conftest import QUICK, WINDSOR_CSV, run


@pytest.fixture
def data(tmp_path: Path) -> Path:
    csv = tmp_path / "data.csv"
    csv.write_bytes(WINDSOR_CSV.read_bytes())
    return csv


def _aliases(target: Path, tmp_path: Path) -> dict[str, str]:
    """The ways a user can name `target` again."""
    (tmp_path / "sub").mkdir(exist_ok=True)
    symlink = tmp_path / "alias.csv"
    symlink.symlink_to(target)
    hardlink = tmp_path / "hard.csv"
    os.link(target, hardlink)
    return {"same path": str(target), "relative": str(tmp_path / "sub" / ".." / target.name),
            "symlink": str(symlink), "hardlink": str(hardlink)}


def _refused(result, needle: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert needle in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("alias", ["same path", "relative", "symlink", "hardlink"])
def test_train_never_writes_its_model_onto_the_csv(data, tmp_path, alias):
    before = data.read_bytes()
    out = _aliases(data, tmp_path)[alias]
    result = run("train", data, "-t", "price", *QUICK, "--out", out)
    _refused(result, "is the input file")
    assert data.read_bytes() == before


@pytest.mark.parametrize("alias", ["same path", "relative", "symlink", "hardlink"])
@pytest.mark.parametrize("which", ["model", "csv"])
def test_predict_never_writes_onto_the_model_or_the_csv(data, tmp_path, trained_model, alias,
                                                        which):
    model = tmp_path / "model.safetensors"
    model.write_bytes(trained_model.read_bytes())
    target = model if which == "model" else data
    before = target.read_bytes()
    out = _aliases(target, tmp_path)[alias]
    result = run("predict", model, data, "--out", out)
    _refused(result, "is the input file")
    assert target.read_bytes() == before


def test_train_plots_never_overwrite_an_input(tmp_path):
    plots = tmp_path / "plots"
    plots.mkdir()
    csv = plots / "loss.png"  # an input that has a plot's name, in the plots folder
    csv.write_bytes(WINDSOR_CSV.read_bytes())
    result = run("train", csv, "-t", "price", *QUICK, "--out", tmp_path / "m.safetensors",
                 "--plots", plots)
    _refused(result, "--plots")
    assert csv.read_bytes() == WINDSOR_CSV.read_bytes()


BAD_OUTPUTS = {
    "missing folder": ("{d}/no/such/m.out", "the folder {d}/no/such does not exist"),
    "folder is a file": ("{d}/file.txt/m.out", "is a file, not a folder"),
    "out is a folder": ("{d}", "is a folder"),
}

COMMANDS = {
    "train": ["train", *QUICK, "--out", "{out}"],
    "predict": ["predict", "{model}", str(WINDSOR_CSV), "--out", "{out}"],
    "descend": ["descend", "x**2", "--x0", "1", "--plot", "{out}"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("case", list(BAD_OUTPUTS))
def test_unwritable_output_is_found_before_any_work(command, case, tmp_path, trained_model,
                                                    monkeypatch):
    (tmp_path / "file.txt").write_text("x")
    out, needle = (s.format(d=tmp_path) for s in BAD_OUTPUTS[case])
    if command == "descend" and case != "out is a folder":
        out += ".png"
    # "before any work": the command must fail before it trains, predicts or descends.
    import descent.cli.descend as descend_cli
    import descent.cli.predict as predict_cli
    import descent.cli.train as train_cli

    def never(*args, **kwargs):
        raise AssertionError("work started before the output was checked")

    monkeypatch.setattr(train_cli, "train_table", never)
    monkeypatch.setattr(predict_cli, "write_predictions", never)
    monkeypatch.setattr(descend_cli, "gradient_descent", never)
    args = [a.format(out=out, model=trained_model) for a in COMMANDS[command]]
    _refused(run(*args), needle)


def test_read_only_folder_is_found_before_training(tmp_path, monkeypatch):
    """Root ignores permission bits, so the read-only file system is simulated at the one
    call the check makes: creating a probe file."""
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if str(path).startswith(str(tmp_path)) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(outputs_module.os, "open", read_only)
    import descent.cli.train as train_cli

    monkeypatch.setattr(train_cli, "train_table", lambda *a, **k: pytest.fail("trained"))
    _refused(run("train", *QUICK, "--out", tmp_path / "m.safetensors"), "read-only file system")


def test_check_outputs_accepts_fresh_files_and_creatable_folders(tmp_path):
    csv = tmp_path / "data.csv"
    csv.write_text("x\n1\n")
    check_outputs({"--out": tmp_path / "new.csv", "--other": None}, [csv, None],
                  {"--plots": (tmp_path / "a" / "b", ("loss.png",))})
    assert not (tmp_path / "a").exists()  # checking creates nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]  # no probe left


def test_two_outputs_on_one_file_are_refused(tmp_path):
    with pytest.raises(OutputError, match="--a and --b both name"):
        check_outputs({"--a": tmp_path / "x.csv", "--b": tmp_path / "." / "x.csv"}, [])


def test_same_file_sees_through_links_and_relative_paths(tmp_path):
    f = tmp_path / "f"
    f.write_text("1")
    (tmp_path / "l").symlink_to(f)
    os.link(f, tmp_path / "h")
    assert same_file(tmp_path / "l", f) and same_file(tmp_path / "h", f)
    assert same_file(tmp_path / "x" / ".." / "f", f)
    assert not same_file(tmp_path / "g", f)
