"""The examples in the viz and report docstrings run and show what they say."""

import doctest
import importlib

import pytest

pytest.importorskip("matplotlib")

MODULES = ["convscope.viz._common", "convscope.viz.arrays", "convscope.viz.animate", "convscope.viz.filters",
           "convscope.viz.features", "convscope.viz.attribution", "convscope.viz.receptive",
           "convscope.viz.maximize", "convscope.viz.training", "convscope.report.html",
           "convscope.report.demo_report", "convscope.nn.module", "convscope.train"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                   # examples that write files write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
