"""The examples in the data package's docstrings run and print what they show."""

import doctest
import importlib

import pytest

MODULES = ["convscope.data", "convscope.data.idx", "convscope.data.datasets", "convscope.data.loader",
           "convscope.data.transforms", "convscope.data.bundled", "convscope.data.download"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
