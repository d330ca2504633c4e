"""ctypes binding over the C API in tflm_train/runtime/c_api.h (the same C++ as the firmware)."""
from __future__ import annotations

import ctypes
from ctypes import POINTER, c_char_p, c_float, c_int8, c_int32, c_size_t, c_uint8, c_uint32, c_void_p

import numpy as np

from ._native import library

ROUNDING = {"nearest": 0, "stochastic": 1}
_STATUS = {1: "invalid model", 2: "unsupported", 3: "out of memory", 4: "invalid argument",
           5: "internal error", 6: "input source error"}


class RuntimeFailure(RuntimeError):
    """The C++ runtime rejected a call (a model or plan it refuses, a bad argument, a failed
    checkpoint); the message is the runtime's own sentence, `status` the C API's code (or None).
    Exported as tflm_train.RuntimeFailure."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class TrainOptions(ctypes.Structure):
    """tt_train_options (c_api.h)."""
    _fields_ = [("learning_rate", c_float), ("rounding", c_int32), ("batch_size", c_int32),
                ("sample_in_batch", c_int32), ("target", POINTER(c_float))]


class InputRequest(ctypes.Structure):
    """tt_input_request (c_api.h)."""
    _fields_ = [("first_row", c_int32), ("num_rows", c_int32), ("row_bytes", c_size_t),
                ("dest", POINTER(c_int8)), ("delivered_row", c_int32),
                ("delivered_bytes", c_size_t)]


#: tt_input_source (c_api.h)
INPUT_SOURCE = ctypes.CFUNCTYPE(c_int32, c_void_p, POINTER(InputRequest))


class LrSchedule(ctypes.Structure):
    """tt_lr_schedule (c_api.h)."""
    _fields_ = [("base", c_float), ("warmup_steps", c_int32), ("total_steps", c_int32),
                ("final_fraction", c_float)]


def learning_rate(base: float, step: int, warmup_steps: int = 0, total_steps: int = 0,
                  final_fraction: float = 0.0) -> float:
    """Warm-up + cosine rate of update `step`, computed by the runtime's own C++ (so the host
    and the board agree to the bit)."""
    lib = _declare(library())
    schedule = LrSchedule(base, warmup_steps, total_steps, final_fraction)
    return float(lib.tt_learning_rate(ctypes.byref(schedule), int(step)))


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
    lib.tt_train.argtypes = [c_void_p, c_int32, POINTER(TrainOptions), POINTER(c_float)]
    lib.tt_train.restype = c_int32
    lib.tt_learning_rate.argtypes = [POINTER(LrSchedule), c_int32]
    lib.tt_learning_rate.restype = c_float
    lib.tt_tensor_data.argtypes = [c_void_p, c_int32, POINTER(c_size_t)]
    lib.tt_tensor_data.restype = POINTER(c_uint8)
    lib.tt_num_layers.argtypes = [c_void_p]
    lib.tt_num_layers.restype = c_int32
    lib.tt_layer_tensors.argtypes = [c_void_p, c_int32, POINTER(c_int32), POINTER(c_int32)]
    lib.tt_layer_tensors.restype = c_int32
    lib.tt_set_input_source.argtypes = [c_void_p, INPUT_SOURCE, c_void_p]
    lib.tt_set_input_source.restype = c_int32
    lib.tt_input_streamed.argtypes = [c_void_p, POINTER(c_int32), POINTER(c_size_t)]
    lib.tt_input_streamed.restype = c_int32
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

    def __init__(self, model: bytes, arena_bytes: int | None = None, seed: int = 1,
                 arena_fill: int = 0):
        """arena_fill: the byte the arena holds before open, so that arena_high_water() can
        tell which bytes the runtime wrote (tests measure the plan with it)."""
        self._lib = _declare(library())
        self._fill = arena_fill & 0xFF
        self._model = _aligned(len(model))
        self._model[:] = np.frombuffer(model, dtype=np.uint8)
        self._storage = _aligned(self._lib.tt_session_size(), 16)
        handle = c_void_p()
        size = arena_bytes if arena_bytes is not None else 16
        while True:
            self._arena = _aligned(max(size, 16))
            self._arena[:] = self._fill
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
            raise RuntimeFailure(f"runtime: {self.error()} ({_STATUS.get(rc, rc)})", rc)
        self.arena_bytes = int(needed)
        rows, row_bytes = c_int32(), c_size_t()
        #: the program reads its input row by row from the input source (never stored whole)
        self.input_streamed = bool(self._lib.tt_input_streamed(
            self._handle, ctypes.byref(rows), ctypes.byref(row_bytes)))
        self.input_rows, self.input_row_bytes = rows.value, row_bytes.value
        self._source_data: np.ndarray | None = None
        self._source_fn = None
        if self.input_streamed:  # arrays reach it the board's way: through the source callback
            self.set_input_source(self._rows_of_input)

    def set_input_source(self, source) -> None:
        """Feed the input through tt_set_input_source: source(first_row, num_rows, dest) fills
        dest (a writable int8 array of num_rows * row_bytes) and returns 0, a non-zero code,
        or (code, delivered_row, delivered_bytes) to report a wrong row or a short read.
        None removes the source (a program that streams its input then cannot run)."""
        def call(_user, request):
            r = request.contents
            dest = np.ctypeslib.as_array(r.dest, shape=(r.num_rows * r.row_bytes,))
            try:
                result = source(r.first_row, r.num_rows, dest)
            except Exception:  # noqa: BLE001 - an exception must not cross into C++
                return -1
            if isinstance(result, tuple):
                result, r.delivered_row, r.delivered_bytes = result
            return int(result)

        self._source_fn = INPUT_SOURCE(call) if source is not None else None
        self._check(self._lib.tt_set_input_source(
            self._handle, self._source_fn if source is not None else INPUT_SOURCE(), None))

    def _rows_of_input(self, first: int, count: int, dest: np.ndarray) -> int:
        data = self._source_data
        if data is None:
            return 1  # no sample given: the runtime reports the source's failure
        lo = first * self.input_row_bytes
        dest[:] = data[lo:lo + count * self.input_row_bytes]
        return 0

    def arena_high_water(self) -> int:
        """One past the highest arena byte that no longer holds the fill byte: what the runtime
        has used so far (a byte written with the fill's own value is not seen: measure with
        two fills)."""
        changed = np.flatnonzero(self._arena != self._fill)
        return int(changed[-1]) + 1 if changed.size else 0

    def error(self) -> str:
        return self._lib.tt_error(self._handle).decode(errors="replace")

    def _check(self, rc: int) -> None:
        if rc != 0:
            raise RuntimeFailure(f"runtime: {self.error()} ({_STATUS.get(rc, rc)})", rc)

    def input_view(self) -> np.ndarray:
        if self.input_streamed:
            raise RuntimeFailure("runtime: this program stores no input tensor (it reads its "
                                 "rows from the input source): use set_input()")
        n = c_size_t()
        p = self._lib.tt_input(self._handle, ctypes.byref(n))
        return np.ctypeslib.as_array(p, shape=(n.value,))

    def output(self) -> np.ndarray:
        n = c_size_t()
        p = self._lib.tt_output(self._handle, ctypes.byref(n))
        return np.ctypeslib.as_array(p, shape=(n.value,)).copy()

    def set_input(self, x: np.ndarray) -> None:
        """One sample: int8 values, or float32 ones for a float-input model (written as their
        bytes; the model's QUANTIZE makes them int8). The input and output views are bytes."""
        x = np.asarray(x)
        data = np.ascontiguousarray(x, np.float32).reshape(-1).view(np.int8) \
            if x.dtype == np.float32 else np.asarray(x, dtype=np.int8).reshape(-1)
        size = self.input_rows * self.input_row_bytes
        if data.size != size:
            raise ValueError(f"the model input has {size} bytes; got {data.size} bytes of "
                             f"{x.dtype}")
        if self.input_streamed:
            self._source_data = data.copy()
        else:
            self.input_view()[:] = data

    def invoke(self, x: np.ndarray) -> np.ndarray:
        self.set_input(x)
        self._check(self._lib.tt_invoke(self._handle))
        return self.output()

    def train_step(self, x: np.ndarray, label: int, learning_rate: float,
                   rounding: str = "stochastic", batch_size: int = 1, sample_in_batch: int = 0,
                   target: np.ndarray | None = None) -> float:
        """One sample; with a mini-batch the update happens after sample batch_size - 1."""
        self.set_input(x)
        loss = c_float()
        target_arr = None
        if target is not None:
            target_arr = np.ascontiguousarray(target, dtype=np.float32).reshape(-1)
        options = TrainOptions(float(learning_rate), ROUNDING[rounding], int(batch_size),
                               int(sample_in_batch),
                               target_arr.ctypes.data_as(POINTER(c_float))
                               if target_arr is not None else None)
        self._check(self._lib.tt_train(self._handle, -1 if label is None else int(label),
                                       ctypes.byref(options), ctypes.byref(loss)))
        return float(loss.value)

    def tensor_bytes(self, tensor: int) -> bytes:
        n = c_size_t()
        p = self._lib.tt_tensor_data(self._handle, tensor, ctypes.byref(n))
        if not p:
            raise RuntimeFailure(f"runtime: tensor {tensor} is not available")
        return ctypes.string_at(p, n.value)

    def write_tensor_bytes(self, tensor: int, data: bytes) -> None:
        """Overwrite a trained tensor's SRAM bytes (what tensor_bytes() returns), as a
        checkpoint restore does; the runtime reads them on its next invoke or step."""
        if tensor not in self.trained_tensors():
            raise ValueError(f"tensor {tensor} is not trained by this model: only trained "
                             "tensors live in writable SRAM")
        n = c_size_t()
        p = self._lib.tt_tensor_data(self._handle, tensor, ctypes.byref(n))
        if not p:
            raise RuntimeFailure(f"runtime: tensor {tensor} is not available")
        if len(data) != n.value:
            raise ValueError(f"tensor {tensor}: {len(data)} bytes given, the session holds "
                             f"{n.value}")
        ctypes.memmove(p, bytes(data), n.value)

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
    rc = _declare_op_api(session._lib).tt_invoke_op(session._handle, int(op))
    if rc == 2:
        raise RuntimeFailure(f"runtime: op {op} is inside a streamed chain of this plan (its "
                            "tensors are never stored whole); convert without streaming to run "
                            "ops one by one")
    session._check(rc)


def invoke_op_by_op(session: NativeSession, x_int8: np.ndarray, op_outputs) -> dict[int, bytes]:
    """Set the input, run every op in model order and capture the bytes of each op's output
    tensors right after that op ran (the arena plan may reuse them later).

    op_outputs: for each op index, the list of its output tensor indices.
    Returns {tensor index: bytes}; the session's output then equals invoke(x_int8)'s.
    """
    session.set_input(x_int8)
    captured: dict[int, bytes] = {}
    for op in range(num_ops(session)):
        invoke_op(session, op)
        for t in op_outputs[op]:
            captured[t] = session.tensor_bytes(t)
    return captured


# ---- Checkpoints in NOR flash (tflm_train/runtime/checkpoint.h) ----

CHECKPOINT_STATUS = {16: "no checkpoint", 17: "corrupt", 18: "wrong model",
                     19: "unsupported version", 20: "flash error", 21: "too large"}
SLOT_STATES = {0: "erased", 1: "valid", 2: "uncommitted", 3: "corrupt", 4: "other version",
               5: "read error"}


class CheckpointError(RuntimeFailure):
    """A checkpoint call failed; `status` is the C API code, the message the runtime's."""

    def __init__(self, status: int, message: str):
        name = CHECKPOINT_STATUS.get(status) or _STATUS.get(status, str(status))
        super().__init__(f"{message} ({name})")
        self.status = status


class CheckpointReport(ctypes.Structure):
    """tt_checkpoint_report (c_api.h)."""
    _fields_ = [("slot", c_int32), ("sequence", c_uint32), ("step", c_uint32),
                ("payload_bytes", c_uint32), ("model_id", c_uint32), ("message", ctypes.c_char * 256)]


def _declare_checkpoint(lib: ctypes.CDLL) -> ctypes.CDLL:
    if getattr(lib, "_tt_checkpoint_declared", False):
        return lib
    _declare(lib)
    report = POINTER(CheckpointReport)
    lib.tt_checkpoint_save.argtypes = [c_void_p, c_void_p, c_uint32, report]
    lib.tt_checkpoint_save.restype = c_int32
    lib.tt_checkpoint_restore.argtypes = [c_void_p, c_void_p, report]
    lib.tt_checkpoint_restore.restype = c_int32
    lib.tt_checkpoint_erase.argtypes = [c_void_p, report]
    lib.tt_checkpoint_erase.restype = c_int32
    lib.tt_checkpoint_model_id.argtypes = [c_void_p]
    lib.tt_checkpoint_model_id.restype = c_uint32
    lib.tt_checkpoint_slot_state.argtypes = [c_void_p, c_int32, POINTER(c_uint32)]
    lib.tt_checkpoint_slot_state.restype = c_int32
    lib.tt_sim_flash_size.restype = c_size_t
    lib.tt_sim_flash_init.argtypes = [c_void_p, c_size_t, POINTER(c_uint8), c_uint32, c_uint32,
                                      c_uint32, POINTER(c_void_p)]
    lib.tt_sim_flash_init.restype = c_int32
    lib.tt_sim_flash_device.argtypes = [c_void_p]
    lib.tt_sim_flash_device.restype = c_void_p
    lib.tt_sim_flash_cut_at.argtypes = [c_void_p, ctypes.c_int64, c_uint32]
    lib.tt_sim_flash_power_on.argtypes = [c_void_p]
    lib.tt_sim_flash_operations.argtypes = [c_void_p]
    lib.tt_sim_flash_operations.restype = ctypes.c_uint64
    lib.tt_sim_flash_powered.argtypes = [c_void_p]
    lib.tt_sim_flash_powered.restype = c_int32
    lib._tt_checkpoint_declared = True
    return lib


class SimFlash:
    """RAM-backed NOR flash of the C++ runtime (flash_sim.h) with power-cut injection.

    `memory` is the flash content (numpy uint8, shared with the C++ side); a new device starts
    erased (0xFF) unless an image is given."""

    def __init__(self, size: int, page_size: int, write_size: int = 4,
                 image: bytes | None = None):
        self._lib = _declare_checkpoint(library())
        self.memory = np.full(size, 0xFF, dtype=np.uint8)
        if image is not None:
            if len(image) != size:
                raise ValueError(f"flash image has {len(image)} bytes, the device {size}")
            self.memory[:] = np.frombuffer(image, dtype=np.uint8)
        self._storage = _aligned(self._lib.tt_sim_flash_size(), 16)
        handle = c_void_p()
        rc = self._lib.tt_sim_flash_init(self._storage.ctypes.data, self._storage.size,
                                         _ptr(self.memory), size, page_size, write_size,
                                         ctypes.byref(handle))
        if rc != 0:
            raise ValueError(f"unusable flash geometry: size {size}, page {page_size}, "
                             f"write unit {write_size} (write unit: power of two <= 64; page a "
                             f"multiple of it; size a multiple of the page)")
        self._handle = handle
        self.device = self._lib.tt_sim_flash_device(handle)

    def cut_at(self, operation: int, seed: int = 1) -> None:
        """Lose power during the `operation`-th flash operation from now (-1: never)."""
        self._lib.tt_sim_flash_cut_at(self._handle, int(operation), seed & 0xFFFFFFFF)

    def power_on(self) -> None:
        self._lib.tt_sim_flash_power_on(self._handle)

    @property
    def operations(self) -> int:
        return int(self._lib.tt_sim_flash_operations(self._handle))

    @property
    def powered(self) -> bool:
        return bool(self._lib.tt_sim_flash_powered(self._handle))

    def slot_state(self, slot: int) -> tuple[str, int]:
        seq = c_uint32()
        state = self._lib.tt_checkpoint_slot_state(
            self.device, slot, ctypes.byref(seq))
        return SLOT_STATES.get(state, str(state)), int(seq.value)


def _checkpoint_call(rc: int, report: CheckpointReport) -> dict:
    if rc != 0:
        raise CheckpointError(rc, report.message.decode(errors="replace"))
    return {"slot": report.slot, "sequence": report.sequence, "step": report.step,
            "payload_bytes": report.payload_bytes, "model_id": report.model_id}


def checkpoint_save(session: NativeSession, flash: SimFlash, step: int = 0) -> dict:
    """Save the session's trained tensors and `step` (power-safe, two slots)."""
    lib = _declare_checkpoint(library())
    report = CheckpointReport()
    rc = lib.tt_checkpoint_save(session._handle, flash.device, step & 0xFFFFFFFF,
                                ctypes.byref(report))
    return _checkpoint_call(rc, report)


def checkpoint_restore(session: NativeSession, flash: SimFlash) -> dict:
    """Load the newest valid checkpoint into the session (unchanged on error)."""
    lib = _declare_checkpoint(library())
    report = CheckpointReport()
    rc = lib.tt_checkpoint_restore(session._handle, flash.device, ctypes.byref(report))
    return _checkpoint_call(rc, report)


def checkpoint_erase(flash: SimFlash) -> None:
    lib = _declare_checkpoint(library())
    report = CheckpointReport()
    _checkpoint_call(lib.tt_checkpoint_erase(flash.device, ctypes.byref(report)), report)


def checkpoint_model_id(session: NativeSession) -> int:
    return int(_declare_checkpoint(library()).tt_checkpoint_model_id(session._handle))


# Flash images in files: the same bytes as the board's checkpoint region (default geometry: the
# nRF52840's, 64 KB of 4 KB pages), so a host checkpoint can be flashed to a board and back.
DEFAULT_FLASH_GEOMETRY = (65536, 4096, 4)  # size, page size, write unit


def save_checkpoint_file(session: NativeSession, path, step: int = 0,
                         geometry: tuple[int, int, int] = DEFAULT_FLASH_GEOMETRY) -> dict:
    """Save into the flash image at `path` (created erased if missing), keeping the newest good
    checkpoint already in it; the file is replaced atomically (temporary file + rename)."""
    import os
    from pathlib import Path
    p = Path(path)
    image = p.read_bytes() if p.exists() else None
    flash = SimFlash(*geometry, image=image)
    info = checkpoint_save(session, flash, step)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_bytes(flash.memory.tobytes())
    os.replace(tmp, p)
    return info


def load_checkpoint_file(session: NativeSession, path,
                         geometry: tuple[int, int, int] = DEFAULT_FLASH_GEOMETRY) -> dict:
    """Restore the newest valid checkpoint of the flash image at `path` into the session."""
    from pathlib import Path
    return checkpoint_restore(session, SimFlash(*geometry, image=Path(path).read_bytes()))
