"""Every module's docstring examples run and print what they show (one test per module).

The modules are discovered when the tests are collected, by walking the ``convscope`` package, so a
new module (or a package that replaces a module) is picked up without touching this file. A module
whose optional dependency (matplotlib for ``convscope.viz``, Pillow, scikit-image...) is missing,
on import or in one of its examples, is skipped, naming the dependency. Options: ELLIPSIS and
NORMALIZE_WHITESPACE; each docstring runs in a fresh copy of its module's globals, in a temporary
working directory, and NumPy's print options are restored afterwards.
"""

import doctest
import importlib
import io
import pkgutil

import numpy as np
import pytest

import convscope

OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# Optional dependencies: a module that imports one of these is skipped when it is not installed.
OPTIONAL = {"matplotlib", "PIL", "tqdm", "skimage", "scipy", "torch", "onnx", "onnxruntime", "dask",
            "cupy", "playwright", "fastapi", "uvicorn", "starlette", "python_multipart", "multipart", "httpx"}


def _module_names():
    # A package that fails to import is still listed (onerror), so its test reports the error (or
    # the missing optional dependency) instead of the package silently dropping out.
    names = ["convscope"]
    for info in pkgutil.walk_packages(convscope.__path__, prefix="convscope.", onerror=names.append):
        if info.name.rpartition(".")[2] != "__main__":     # importing it runs the command line
            names.append(info.name)
    return sorted(set(names))


MODULES = _module_names()


def _missing_optional(error):
    """The optional dependency whose absence raised ``error`` (or an error it chains), else None;
    convscope's own "pictures need matplotlib" errors chain the original ModuleNotFoundError."""
    while error is not None:
        if isinstance(error, ImportError) and (error.name or "").split(".")[0] in OPTIONAL:
            return error.name.split(".")[0]
        error = error.__cause__ or error.__context__
    return None


def _import_or_skip(name):
    try:
        return importlib.import_module(name)
    except ImportError as error:     # ModuleNotFoundError included
        missing = _missing_optional(error)
        if missing:
            pytest.skip(f"{name} needs the optional dependency {missing!r}, which is not installed")
        raise


def _doctests(module):
    """The doctests whose docstrings live in this module (not those of names it imports)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    return finder.find(module, module.__name__, globs=dict(vars(module)))


class _Runner(doctest.DocTestRunner):
    """A doctest runner that notes the optional dependencies whose absence made an example fail."""

    def __init__(self):
        super().__init__(optionflags=OPTIONFLAGS)
        self.missing = set()

    def report_unexpected_exception(self, out, test, example, exc_info):
        missing = _missing_optional(exc_info[1])
        if missing:
            self.missing.add(missing)
        super().report_unexpected_exception(out, test, example, exc_info)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                  # examples that write files write them here
    module = _import_or_skip(name)
    tests = [test for test in _doctests(module) if test.examples]
    if not tests:
        pytest.skip(f"{name} has no docstring examples")
    report, runner = io.StringIO(), _Runner()
    printing = np.get_printoptions()
    try:
        for test in tests:
            # a fresh namespace per docstring: the module's globals, nothing left by another example
            test.globs = dict(vars(module))
            runner.run(test, out=report.write)
    finally:
        np.set_printoptions(**printing)
    if runner.failures and runner.missing:
        pytest.skip(f"{name}'s examples need the optional dependencies {sorted(runner.missing)}, which are "
                    f"not installed")
    assert runner.failures == 0, \
        f"{runner.failures} of {runner.tries} examples in {name} failed:\n{report.getvalue()}"


def test_every_public_function_and_class_has_an_example():
    """The rule of STYLE.md (numpydoc with a runnable example) for every public name, found by
    scripts/missing_examples.py; the examples themselves run in the test above."""
    import runpy
    from pathlib import Path

    script = runpy.run_path(str(Path(__file__).parents[1] / "scripts" / "missing_examples.py"))
    seen, broken = script["survey"]()
    broken = [line for line in broken if not _missing_optional_text(line)]
    assert not broken, broken
    missing = sorted(name for name, ok in seen.items() if not ok)
    assert len(seen) > 300 and not missing, f"{len(missing)} public names without an Examples section: {missing}"


def _missing_optional_text(line):
    return any(extra in line for extra in ("matplotlib", "PIL", "skimage", "tqdm", "playwright", "fastapi",
                                           "uvicorn", "starlette", "multipart", "httpx"))
