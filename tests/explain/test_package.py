"""The descent.explain package imports each module when one of its names is first used."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import descent.explain


def test_every_exported_name_resolves_to_its_module():
    for name in descent.explain.__all__:
        value = getattr(descent.explain, name)
        if name == "minimize":  # `ds.minimize` is the module of minimizers
            assert value is importlib.import_module("descent.explain.minimize")
        else:
            module = importlib.import_module(f"descent.explain.{descent.explain._WHERE[name]}")
            assert value is getattr(module, name)
    assert set(descent.explain.__all__) <= set(dir(descent.explain))


def test_an_unknown_name_is_an_attribute_error():
    try:
        descent.explain.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("descent.explain.no_such_name did not raise")


def test_using_one_name_imports_its_module_not_the_others():
    code = ("import json, sys, descent.explain as e\n"
            "before = [m for m in sys.modules if m.startswith('descent.explain.')]\n"
            "e.learning_notes\n"
            "after = [m for m in sys.modules if m.startswith('descent.explain.')]\n"
            "print(json.dumps([before, after]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    before, after = json.loads(done.stdout)
    assert before == []
    assert "descent.explain.diagnostics" in after
    unused = {"chain", "convolution", "attributions", "training_plots", "picture_plots",
              "descent_plots", "minimize", "graph", "collapse"}
    assert not {f"descent.explain.{m}" for m in unused} & set(after)
