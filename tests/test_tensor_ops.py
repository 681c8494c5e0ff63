"""Tensor arithmetic, shape ops, indexing, concatenation and reductions against PyTorch."""

import numpy as np
import pytest

import convscope
from tests._reference import compare_with_grads, torch

CASES = [
    ("add broadcast", lambda a, b: a + b, (3, 1, 4), (2, 1)),
    ("sub", lambda a, b: a - b, (3, 4), (4,)),
    ("mul", lambda a, b: a * b, (2, 3), (2, 1)),
    ("div", lambda a, b: a / (b * b + 1), (2, 3), (3,)),
    ("scalars", lambda a, b: 2 * a - 1 + a / 4 + (1 - b) * 3, (3,), (3,)),
    ("neg pow", lambda a, b: -(a ** 2) + (b * b + 1) ** 0.5, (2, 2), (2, 2)),
    ("matmul 2d", lambda a, b: a @ b, (3, 4), (4, 2)),
    ("matmul batched", lambda a, b: a @ b, (2, 3, 4), (4, 5)),
    ("matmul vec", lambda a, b: a @ b, (3, 4), (4,)),
    ("reshape flatten", lambda a, b: a.reshape(4, 3).flatten() + b.flatten(), (2, 6), (3, 4)),
    ("flatten dims", lambda a, b: a.flatten(1) * 2 + b.sum(), (2, 3, 2), (1,)),
    ("permute T", lambda a, b: a.permute(2, 0, 1).sum(0).T + b, (2, 3, 4), (1,)),
    ("transpose", lambda a, b: a.transpose(0, 1) @ b, (3, 2), (3, 4)),
    ("index", lambda a, b: a[1:, ::2] * b[0] + a[np.array([0, 0, 2])].sum(), (3, 4), (2,)),
    ("sum mean", lambda a, b: a.sum(1) + a.mean((0, 1), keepdim=True).sum() + b.mean(), (2, 3, 2), (5,)),
    ("max", lambda a, b: a.max(1)[0] + a.max(0, keepdim=True).values.sum() + b.max(), (3, 4), (4,)),
    ("exp log abs", lambda a, b: (a.exp() + b.abs() + 1).log(), (3,), (3,)),
]


@pytest.mark.parametrize("name, fn, sa, sb", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tensor_ops_match_torch(name, fn, sa, sb, dtype, rng):
    a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
    compare_with_grads(fn, fn, (a, b), dtype, rng, what=name)


def test_cat_and_stack_match_torch(rng):
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 1)), rng.standard_normal((2, 3))
    compare_with_grads(lambda x, y, z: convscope.cat([x, y, z], dim=1) * 2,
                       lambda x, y, z: torch.cat([x, y, z], dim=1) * 2, (a, b, c), np.float64, rng, what="cat")
    compare_with_grads(lambda x, z: convscope.stack([x, z], dim=1).sum(2),
                       lambda x, z: torch.stack([x, z], dim=1).sum(2), (a, c), np.float64, rng, what="stack")


def test_python_scalars_keep_float32():
    x = convscope.tensor([1.0, 2.0])
    assert (2 * x + 1).dtype == np.float32 and (x / 3).dtype == np.float32


def test_comparisons_and_argmax_carry_no_grad():
    x = convscope.Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    assert not (x > 0).requires_grad
    np.testing.assert_array_equal((x > 0).numpy(), [True, False, True])
    assert x.argmax().item() == 2
