"""A model file never makes descent open a path written inside it.

The class: any metadata field that names a file. `descent train` stores the data file's
name only, and `descent explain` reads rows only from the file given with --csv.
"""

from __future__ import annotations

from descent.io import read_model_file, write_model_file

from .conftest import QUICK, WINDSOR_CSV, run


def _crafted(model, tmp_path, data: str):
    tensors, meta = read_model_file(model)
    meta["extra"]["data"] = data
    path = tmp_path / "crafted.safetensors"
    write_model_file(path, tensors, meta)
    return path


def test_train_stores_the_data_file_name_not_its_path(tmp_path):
    csv = tmp_path / "houses.csv"
    csv.write_bytes(WINDSOR_CSV.read_bytes())
    out = tmp_path / "m.safetensors"
    assert run("train", csv, "-t", "price", *QUICK, "--out", out).exit_code == 0
    data = read_model_file(out)[1]["extra"]["data"]
    assert data == "houses.csv"
    assert str(tmp_path) not in str(read_model_file(out)[1])


def test_explain_never_opens_the_path_in_a_crafted_model(tmp_path, trained_model,
                                                        monkeypatch):
    secret = tmp_path / "secret.csv"
    secret.write_text(WINDSOR_CSV.read_text().replace("5850", "987654321", 1))
    crafted = _crafted(trained_model, tmp_path, str(secret))
    opened = []
    real_open = open

    def spy(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy)
    result = run("explain", crafted, "--row", "1")
    monkeypatch.undo()
    assert result.exit_code == 2, result.output
    assert "987654321" not in result.output
    assert not any("secret" in name for name in opened), opened
    assert "give the rows with --csv FILE" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_explain_reads_the_file_the_user_names(tmp_path, trained_model):
    crafted = _crafted(trained_model, tmp_path, "/etc/passwd")
    result = run("explain", crafted, "--row", "2", "--csv", WINDSOR_CSV)
    assert result.exit_code == 0, result.output
    assert f"{WINDSOR_CSV}, line 3" in result.stdout


def test_explain_of_a_model_on_the_embedded_data_needs_no_file(trained_model):
    result = run("explain", trained_model, "--row", "546")
    assert result.exit_code == 0, result.output
    assert "windsor_housing.csv (embedded), line 547" in result.stdout
