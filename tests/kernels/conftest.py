from __future__ import annotations

import pytest

from tests.kernels import forward_shim, training_shim


@pytest.fixture(scope="session")
def forward():
    """The forward kernels (prepare + eval) through tests/native/forward_shim.cc."""
    return forward_shim.load()


@pytest.fixture(scope="session")
def training():
    """The training kernels through tests/native/training_shim.cc."""
    return training_shim.load()
