"""The examples in the docstrings of the picture modules run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "descent.pictures.model", "descent.pictures.training", "descent.pictures.predict",
    "descent.explain.attributions", "descent.explain.convolution",
    "descent.explain.picture_plots", "descent.cli.train_images", "descent.train.metrics",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("name", ["saliency", "smoothgrad", "integrated_gradients", "grad_cam",
                                  "feature_maps", "first_filters", "conv_weight_chain",
                                  "plot_explanation", "plot_filters", "plot_misclassified"])
def test_public_explain_functions_have_examples(name):
    import descent as ds

    assert ">>>" in (getattr(ds.explain, name).__doc__ or "")
