"""Helpers that run the same computation in PyTorch and in convscope and compare them."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch 2.13.0 is the test reference: pip install -e '.[test]'")
torch.set_num_threads(1)

import convscope  # noqa: E402


def tol(dtype):
    """(rtol, atol scale): float64 to 1e-10, float32 to 1e-4, relative to the result's magnitude."""
    return 1e-10 if np.dtype(dtype) == np.float64 else 1e-4


def assert_close(got, want, dtype, what=""):
    got = np.asarray(got)
    want = want.detach().numpy() if hasattr(want, "detach") else np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    t = tol(dtype)
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=t, atol=t * scale, err_msg=what)


def leaves(*arrays):
    """The same arrays as convscope and torch leaf tensors that require grad (None passes through)."""
    cs = [None if a is None else convscope.Tensor(a, requires_grad=True) for a in arrays]
    pt = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    return cs, pt


def compare_with_grads(cs_fn, pt_fn, arrays, dtype, rng, what=""):
    """Run cs_fn/pt_fn on leaves built from arrays; compare outputs and every gradient."""
    (cs_in, pt_in) = leaves(*arrays)
    y_pt = pt_fn(*pt_in)
    y_cs = cs_fn(*cs_in)
    assert_close(y_cs.numpy(), y_pt, dtype, f"{what} forward")
    gy = rng.standard_normal(tuple(y_pt.shape)).astype(dtype)
    y_pt.backward(torch.from_numpy(gy))
    y_cs.backward(gy)
    for i, (c, p) in enumerate(zip(cs_in, pt_in)):
        if c is None:
            continue
        assert c.grad is not None, f"{what}: no gradient for operand {i}"
        assert c.grad.dtype == np.dtype(dtype), f"{what}: gradient {i} has dtype {c.grad.dtype}"
        assert_close(c.grad, p.grad, dtype, f"{what} grad of operand {i}")


def numeric_grad(f, arrays, index, eps=1e-6):
    """Central finite differences of the scalar f(*arrays) with respect to arrays[index] (float64)."""
    base = [np.array(a, dtype=np.float64, copy=True) for a in arrays]
    target = base[index]
    grad = np.zeros_like(target)
    flat, gflat = target.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        hi = f(*base)
        flat[i] = old - eps
        lo = f(*base)
        flat[i] = old
        gflat[i] = (hi - lo) / (2 * eps)
    return grad


def check_gradients(op, arrays, rng):
    """op(*arrays) -> array. Compares autograd with finite differences of sum(op * gy)."""
    y = op(*arrays)
    gy = rng.standard_normal(np.shape(y))
    leaves = [None if a is None else convscope.Tensor(a, requires_grad=True) for a in arrays]
    op(*leaves).backward(gy)
    for i, (a, leaf) in enumerate(zip(arrays, leaves)):
        if a is None:
            continue
        want = numeric_grad(lambda *arr: float(np.sum(op(*arr) * gy)), arrays, i)
        np.testing.assert_allclose(leaf.grad, want, rtol=1e-6, atol=1e-7, err_msg=f"operand {i}")
