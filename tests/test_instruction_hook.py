"""tt_set_instruction_hook (the board profiler's source): called once per program instruction in
program order with its opcode and first argument, then once with index -1; nothing when unset;
results unchanged by it."""
import ctypes

import numpy as np

import tflm_train
from tflm_train.binding import NativeSession
from tflm_train.converter.program import METADATA_NAME, Opcode, decode_header, decode_instructions
from tflm_train.converter.tflite_io import get_metadata, read_model
from tflm_train.data import DEMO_MODEL

MODEL = DEMO_MODEL
HOOK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32)


def _instructions(model: bytes) -> tuple[list[tuple[int, int]], int]:
    """(opcode, first argument) of every instruction of the model's program, and n_forward."""
    blob = get_metadata(read_model(model), METADATA_NAME)
    h = decode_header(blob)
    out = [(int(ins.opcode), ins.args[0] if ins.args else -1) for ins in decode_instructions(blob)]
    return out, h["n_forward"]


def _hooked(session: NativeSession, calls: list):
    lib = session._lib
    lib.tt_set_instruction_hook.argtypes = [ctypes.c_void_p, HOOK, ctypes.c_void_p]
    lib.tt_set_instruction_hook.restype = None
    hook = HOOK(lambda user, index, opcode, arg0: calls.append((index, opcode, arg0)))
    lib.tt_set_instruction_hook(session._handle, hook, None)
    return hook  # keep the callback alive while the session uses it


def test_hook_sees_every_instruction_in_order():
    model = tflm_train.convert(MODEL.read_bytes(),
                               tflm_train.SparseUpdate(n_bias=2, weights={-1: 1.0}))
    program, n_forward = _instructions(model)
    assert len(program) > n_forward and {op for op, _ in program} >= {Opcode.FORWARD}
    x = np.random.default_rng(0).integers(-128, 128, NativeSession(model).input_view().size,
                                          dtype=np.int8)
    plain = NativeSession(model)
    plain.train_step(x, 3, 0.05, "nearest")

    session, calls = NativeSession(model), []
    keep = _hooked(session, calls)
    session.train_step(x, 3, 0.05, "nearest")
    assert calls == [(i, op, a) for i, (op, a) in enumerate(program)] + [(-1, -1, -1)]
    def trained(s):
        return b"".join(s.tensor_bytes(t) for t in s.trained_tensors())

    assert trained(session) == trained(plain)  # the hook changes nothing

    calls.clear()
    session.invoke(x)  # inference runs the forward instructions only
    assert calls == [(i, op, a) for i, (op, a) in enumerate(program[:n_forward])] + [(-1, -1, -1)]

    session._lib.tt_set_instruction_hook(session._handle, HOOK(), None)  # null: removed
    calls.clear()
    session.train_step(x, 3, 0.05, "nearest")
    assert calls == []
    del keep
