"""The README's first example runs as written and prints what it says."""

import re

import numpy as np

from tests.conftest import REPO


def test_first_readme_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    np.testing.assert_array_equal(namespace["F"].conv2d(namespace["image"], namespace["edge"]), np.full((1, 1, 3, 3), -8.0))
    assert namespace["x"].grad.shape == (1, 1, 4, 4)
