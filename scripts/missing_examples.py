"""List convscope's public functions and classes whose docstring has no numpydoc Examples section.

Usage::

    python scripts/missing_examples.py [--all]

A module's public names are those in its ``__all__``, else the names not starting with ``_``;
only functions and classes defined in convscope count, each once, under the module that defines
it (a name re-exported by a package is reported where it is written). Private modules
(``convscope._validation``, ``convscope.viz._common``) count only through the names that public
modules re-export. Modules whose optional
dependency is missing are named on stderr and left out. Exit status 1 when something is missing.
With ``--all`` the names that have an example are listed too.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import re
import sys

import convscope

EXAMPLES = re.compile(r"^\s*Examples\s*\n\s*-{3,}\s*$", re.MULTILINE)


def module_names() -> list[str]:
    found = ["convscope"]
    for info in pkgutil.walk_packages(convscope.__path__, prefix="convscope.", onerror=found.append):
        # private modules (convscope._validation, viz._common) count only through the names that
        # public modules re-export; __main__ runs the command line when imported
        if not any(part.startswith("_") for part in info.name.split(".")):
            found.append(info.name)
    return sorted(set(found))


def public_objects(module):
    """(name, object) for the module's public functions and classes, wherever they are defined."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name, None)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and \
                (getattr(obj, "__module__", "") or "").startswith("convscope"):
            yield name, obj


def has_example(obj) -> bool:
    return bool(EXAMPLES.search(inspect.getdoc(obj) or ""))


def survey() -> tuple[dict[str, bool], list[str]]:
    """{'module.qualname': has an example} over every public object, and modules that would not import."""
    seen: dict[str, bool] = {}
    broken = []
    for name in module_names():
        try:
            module = importlib.import_module(name)
        except Exception as error:               # an optional dependency, or a module mid-refactor
            broken.append(f"{name}: {type(error).__name__}: {error}")
            continue
        for _, obj in public_objects(module):
            key = f"{obj.__module__}.{obj.__qualname__}"
            seen[key] = seen.get(key, False) or has_example(obj)
    return seen, broken


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="also list the names that have an example")
    args = parser.parse_args(argv)
    seen, broken = survey()
    for line in broken:
        print(f"not imported: {line}", file=sys.stderr)
    missing = sorted(k for k, ok in seen.items() if not ok)
    for key in sorted(seen) if args.all else missing:
        print(("  ok     " if seen[key] else "missing  ") + key)
    print(f"{len(missing)} of {len(seen)} public functions and classes have no Examples section", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
