"""ctypes binding over the C API in tflm_train/runtime/c_api.h (the same C++ as the firmware)."""
from __future__ import annotations

import ctypes
from ctypes import POINTER, c_char_p, c_float, c_int8, c_int32, c_size_t, c_uint8, c_uint32, c_void_p

import numpy as np

from ._native import library

ROUNDING = {"nearest": 0, "stochastic": 1}
_STATUS = {1: "invalid model", 2: "unsupported", 3: "out of memory", 4: "invalid argument",
           5: "internal error"}


class RuntimeError_(RuntimeError):
    """The C++ runtime rejected a call; the message is the runtime's own sentence."""


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    if getattr(lib, "_tt_declared", False):
        return lib
    lib.tt_session_size.restype = c_size_t
    lib.tt_open.argtypes = [c_void_p, c_size_t, POINTER(c_uint8), c_size_t, POINTER(c_uint8),
                            c_size_t, c_uint32, POINTER(c_void_p)]
    lib.tt_open.restype = c_int32
    lib.tt_error.argtypes = [c_void_p]
    lib.tt_error.restype = c_char_p
    lib.tt_arena_required.argtypes = [c_void_p]
    lib.tt_arena_required.restype = c_size_t
    lib.tt_input.argtypes = [c_void_p, POINTER(c_size_t)]
    lib.tt_input.restype = POINTER(c_int8)
    lib.tt_output.argtypes = [c_void_p, POINTER(c_size_t)]
    lib.tt_output.restype = POINTER(c_int8)
    lib.tt_invoke.argtypes = [c_void_p]
    lib.tt_invoke.restype = c_int32
    lib.tt_train_step.argtypes = [c_void_p, c_int32, c_float, c_int32, POINTER(c_float)]
    lib.tt_train_step.restype = c_int32
    lib.tt_tensor_data.argtypes = [c_void_p, c_int32, POINTER(c_size_t)]
    lib.tt_tensor_data.restype = POINTER(c_uint8)
    lib.tt_num_layers.argtypes = [c_void_p]
    lib.tt_num_layers.restype = c_int32
    lib.tt_layer_tensors.argtypes = [c_void_p, c_int32, POINTER(c_int32), POINTER(c_int32)]
    lib.tt_layer_tensors.restype = c_int32
    lib._tt_declared = True
    return lib


def _aligned(nbytes: int, alignment: int = 16) -> np.ndarray:
    raw = np.zeros(nbytes + alignment, dtype=np.uint8)
    start = (-raw.ctypes.data) % alignment
    return raw[start:start + nbytes]


def _ptr(array: np.ndarray):
    return array.ctypes.data_as(POINTER(c_uint8))


class NativeSession:
    """One runtime session: the model copy, the arena and the session storage it owns."""

    def __init__(self, model: bytes, arena_bytes: int | None = None, seed: int = 1):
        self._lib = _declare(library())
        self._model = _aligned(len(model))
        self._model[:] = np.frombuffer(model, dtype=np.uint8)
        self._storage = _aligned(self._lib.tt_session_size(), 16)
        handle = c_void_p()
        size = arena_bytes if arena_bytes is not None else 16
        while True:
            self._arena = _aligned(max(size, 16))
            rc = self._lib.tt_open(self._storage.ctypes.data, self._storage.size,
                                   _ptr(self._model), len(model), _ptr(self._arena),
                                   self._arena.size, seed & 0xFFFFFFFF, ctypes.byref(handle))
            self._handle = handle
            needed = self._lib.tt_arena_required(handle) if handle.value else 0
            if rc == 3 and arena_bytes is None and needed > size:
                size = needed  # first call only learns the planned size
                continue
            break
        if rc != 0:
            raise RuntimeError_(f"runtime: {self.error()} ({_STATUS.get(rc, rc)})")
        self.arena_bytes = int(needed)

    def error(self) -> str:
        return self._lib.tt_error(self._handle).decode(errors="replace")

    def _check(self, rc: int) -> None:
        if rc != 0:
            raise RuntimeError_(f"runtime: {self.error()} ({_STATUS.get(rc, rc)})")

    def input_view(self) -> np.ndarray:
        n = c_size_t()
        p = self._lib.tt_input(self._handle, ctypes.byref(n))
        return np.ctypeslib.as_array(p, shape=(n.value,))

    def output(self) -> np.ndarray:
        n = c_size_t()
        p = self._lib.tt_output(self._handle, ctypes.byref(n))
        return np.ctypeslib.as_array(p, shape=(n.value,)).copy()

    def invoke(self, x_int8: np.ndarray) -> np.ndarray:
        view = self.input_view()
        view[:] = np.asarray(x_int8, dtype=np.int8).reshape(-1)
        self._check(self._lib.tt_invoke(self._handle))
        return self.output()

    def train_step(self, x_int8: np.ndarray, label: int, learning_rate: float,
                   rounding: str = "stochastic") -> float:
        view = self.input_view()
        view[:] = np.asarray(x_int8, dtype=np.int8).reshape(-1)
        loss = c_float()
        self._check(self._lib.tt_train_step(self._handle, int(label), float(learning_rate),
                                            ROUNDING[rounding], ctypes.byref(loss)))
        return float(loss.value)

    def tensor_bytes(self, tensor: int) -> bytes:
        n = c_size_t()
        p = self._lib.tt_tensor_data(self._handle, tensor, ctypes.byref(n))
        if not p:
            raise RuntimeError_(f"runtime: tensor {tensor} is not available")
        return ctypes.string_at(p, n.value)

    def trained_tensors(self) -> list[int]:
        out = []
        for i in range(self._lib.tt_num_layers(self._handle)):
            w, b = c_int32(), c_int32()
            self._check(self._lib.tt_layer_tensors(self._handle, i, ctypes.byref(w),
                                                   ctypes.byref(b)))
            out += [t for t in (w.value, b.value) if t >= 0]
        return out


# -- per-op forward (tt_invoke_op): intermediate tensors for comparisons with other runtimes --

def _declare_op_api(lib: ctypes.CDLL) -> ctypes.CDLL:
    if not getattr(lib, "_tt_op_api_declared", False):
        lib.tt_invoke_op.argtypes = [c_void_p, c_int32]
        lib.tt_invoke_op.restype = c_int32
        lib.tt_num_ops.argtypes = [c_void_p]
        lib.tt_num_ops.restype = c_int32
        lib._tt_op_api_declared = True
    return lib


def num_ops(session: NativeSession) -> int:
    """Number of subgraph-0 operators of the session's model."""
    return int(_declare_op_api(session._lib).tt_num_ops(session._handle))


def invoke_op(session: NativeSession, op: int) -> None:
    """Run subgraph-0 operator `op` alone; ops 0..n-1 in order equal one invoke()."""
    session._check(_declare_op_api(session._lib).tt_invoke_op(session._handle, int(op)))


def invoke_op_by_op(session: NativeSession, x_int8: np.ndarray, op_outputs) -> dict[int, bytes]:
    """Set the input, run every op in model order and capture the bytes of each op's output
    tensors right after that op ran (the arena plan may reuse them later).

    op_outputs: for each op index, the list of its output tensor indices.
    Returns {tensor index: bytes}; the session's output then equals invoke(x_int8)'s.
    """
    view = session.input_view()
    view[:] = np.asarray(x_int8, dtype=np.int8).reshape(-1)
    captured: dict[int, bytes] = {}
    for op in range(num_ops(session)):
        invoke_op(session, op)
        for t in op_outputs[op]:
            captured[t] = session.tensor_bytes(t)
    return captured
