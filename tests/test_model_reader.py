"""Tests of the verifying TFLite reader (tflm_train/runtime/tflite_model.h) through its ctypes shim.

1. Real int8/float models made with the TFLite converter are read field by field and compared with
   the Python schema object API (the reference reader).
2. A metadata entry added in Python is found with FindMetadata.
3. Hostile inputs (empty, truncated at every length, wrong identifier, patched offsets, vtables and
   vector lengths, bad indices, random byte flips) must give a clear error or load with every
   accessor in bounds. Fuzz inputs sit right before a PROT_NONE page, so any read past the end of
   the buffer crashes the test instead of passing silently; a separate test re-runs the corpus
   under AddressSanitizer/UBSan when g++ is available.
"""
from __future__ import annotations

import ctypes
import mmap
import random
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import flatbuffers
import numpy as np
import pytest

from tensorflow.lite.python import schema_py_generated as schema
from tests.native_libs import ROOT, load_shim
from tflm_train.data import DEMO_MODEL

OK, INVALID, UNSUPPORTED, READER_BUG = 0, 1, 2, 100
ERR_CAP = 256

# Builtin options type -> object API attribute names, in the order the shim flattens them.
OPTION_FIELDS = {
    1: ["padding", "strideW", "strideH", "fusedActivationFunction", "dilationWFactor",
        "dilationHFactor", "quantizedBiasType"],
    2: ["padding", "strideW", "strideH", "depthMultiplier", "fusedActivationFunction",
        "dilationWFactor", "dilationHFactor"],
    5: ["padding", "strideW", "strideH", "filterWidth", "filterHeight", "fusedActivationFunction"],
    8: ["fusedActivationFunction", "weightsFormat", "keepNumDims", "asymmetricQuantizeInputs",
        "quantizedBiasType"],
    9: ["beta"],
    10: ["axis", "fusedActivationFunction"],
    11: ["fusedActivationFunction", "potScaleInt16"],
    17: ["newShape"],
    22: [],
    27: ["keepDims"],
}


class TensorOut(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int32), ("buffer", ctypes.c_uint32),
                ("is_variable", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("shape", ctypes.c_int32 * 16), ("has_shape_signature", ctypes.c_int32),
                ("signature_rank", ctypes.c_int32), ("shape_signature", ctypes.c_int32 * 16),
                ("quant_present", ctypes.c_int32), ("quantized_dimension", ctypes.c_int32),
                ("num_scales", ctypes.c_int32), ("num_zero_points", ctypes.c_int32),
                ("name_length", ctypes.c_int32)]


# ---------------------------------------------------------------------------------------------
# Shim loading and a Python wrapper around one loaded model.

@pytest.fixture(scope="session")
def lib():
    lib = load_shim("reader_shim")
    vp, u32, i32, sz = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int32, ctypes.c_size_t
    sigs = {
        "tts_open": (vp, [ctypes.c_char_p, sz, sz, ctypes.POINTER(i32), ctypes.c_char_p, sz]),
        "tts_close": (None, [vp]),
        "tts_version": (u32, [vp]),
        "tts_description": (i32, [vp, ctypes.c_char_p, sz]),
        "tts_num_operator_codes": (u32, [vp]),
        "tts_operator_code": (i32, [vp, u32, ctypes.POINTER(i32), ctypes.POINTER(i32),
                                    ctypes.c_char_p, sz]),
        "tts_num_subgraphs": (u32, [vp]),
        "tts_subgraph_name": (i32, [vp, u32, ctypes.c_char_p, sz]),
        "tts_subgraph_io": (i32, [vp, u32, i32, ctypes.POINTER(i32), i32]),
        "tts_num_tensors": (u32, [vp, u32]),
        "tts_num_operators": (u32, [vp, u32]),
        "tts_tensor": (None, [vp, u32, u32, ctypes.POINTER(TensorOut), ctypes.c_char_p, sz]),
        "tts_tensor_scales": (i32, [vp, u32, u32, ctypes.POINTER(ctypes.c_float), i32]),
        "tts_tensor_zero_points": (i32, [vp, u32, u32, ctypes.POINTER(ctypes.c_int64), i32]),
        "tts_operator": (None, [vp, u32, u32, ctypes.POINTER(u32), ctypes.POINTER(i32),
                                ctypes.POINTER(i32)]),
        "tts_operator_io": (i32, [vp, u32, u32, i32, ctypes.POINTER(i32), i32]),
        "tts_operator_options": (i32, [vp, u32, u32, i32, ctypes.POINTER(i32), i32]),
        "tts_num_buffers": (u32, [vp]),
        "tts_buffer": (ctypes.c_int64, [vp, u32, ctypes.POINTER(u32)]),
        "tts_num_metadata": (u32, [vp]),
        "tts_metadata": (u32, [vp, u32, ctypes.c_char_p, sz]),
        "tts_find_metadata": (i32, [vp, ctypes.c_char_p]),
        "tts_load_and_touch": (i32, [vp, sz, ctypes.POINTER(ctypes.c_uint64), ctypes.c_char_p,
                                     sz]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


class Loaded:
    """One model loaded by the reader (a private copy, `misalign` bytes off 16-byte alignment)."""

    def __init__(self, lib, data: bytes, misalign: int = 0):
        self.lib = lib
        status = ctypes.c_int32()
        err = ctypes.create_string_buffer(ERR_CAP)
        self.h = lib.tts_open(data, len(data), misalign, ctypes.byref(status), err, ERR_CAP)
        self.status, self.error = status.value, err.value.decode()

    def close(self):
        self.lib.tts_close(self.h)

    def _i32s(self, fn, *args, cap=1024):
        out = (ctypes.c_int32 * cap)()
        n = fn(self.h, *args, out, cap)
        return None if n < 0 else list(out[:min(n, cap)])

    def opcode(self, i):
        b, v = ctypes.c_int32(), ctypes.c_int32()
        s = ctypes.create_string_buffer(256)
        n = self.lib.tts_operator_code(self.h, i, ctypes.byref(b), ctypes.byref(v), s, 256)
        return b.value, (s.raw[:n] if n >= 0 else None), v.value

    def tensor(self, sg, t):
        out, name = TensorOut(), ctypes.create_string_buffer(1024)
        self.lib.tts_tensor(self.h, sg, t, ctypes.byref(out), name, 1024)
        return out, (name.raw[:out.name_length] if out.name_length >= 0 else None)

    def scales(self, sg, t):
        out = (ctypes.c_float * 4096)()
        n = self.lib.tts_tensor_scales(self.h, sg, t, out, 4096)
        return np.array(out[:n], np.float32)

    def zero_points(self, sg, t):
        out = (ctypes.c_int64 * 4096)()
        n = self.lib.tts_tensor_zero_points(self.h, sg, t, out, 4096)
        return np.array(out[:n], np.int64)

    def op(self, sg, i):
        oi, ot, co = ctypes.c_uint32(), ctypes.c_int32(), ctypes.c_int32()
        self.lib.tts_operator(self.h, sg, i, ctypes.byref(oi), ctypes.byref(ot), ctypes.byref(co))
        return oi.value, ot.value, co.value

    def options(self, sg, i, kind):
        return self._i32s(self.lib.tts_operator_options, sg, i, kind, cap=64)

    def buffer(self, i, data: bytes):
        size = ctypes.c_uint32()
        off = self.lib.tts_buffer(self.h, i, ctypes.byref(size))
        return b"" if off < 0 else data[off:off + size.value]


@pytest.fixture
def load(lib):
    opened = []

    def _load(data: bytes, misalign: int = 0) -> Loaded:
        m = Loaded(lib, data, misalign)
        opened.append(m)
        return m

    yield _load
    for m in opened:
        m.close()


# ---------------------------------------------------------------------------------------------
# Models (built once per session) and helpers to edit them with the schema object API.

def _convert(quantize: bool) -> bytes:
    import tensorflow as tf

    rng = np.random.default_rng(0)

    def const(*shape):
        return tf.constant((rng.normal(size=shape) * 0.3).astype(np.float32))

    w_conv, b_conv, w_dw, b_dw, w_fc, b_fc = (const(3, 3, 3, 4), const(4), const(3, 3, 4, 1),
                                              const(4), const(8, 10), const(10))

    @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 3], tf.float32)])
    def net(x):
        x = tf.nn.relu(tf.nn.conv2d(x, w_conv, 1, "SAME") + b_conv)
        y = tf.nn.relu6(tf.nn.depthwise_conv2d(x, w_dw, [1, 1, 1, 1], "SAME") + b_dw)
        z = tf.pad(x + y, [[0, 0], [1, 1], [1, 1], [0, 0]])
        a = tf.nn.avg_pool2d(z, 2, 2, "VALID")
        m = tf.nn.max_pool2d(z, 2, 2, "VALID")
        r = tf.reshape(tf.concat([a, m], axis=3), [1, 25, 8])
        g = tf.reduce_mean(r, axis=1)
        return tf.nn.softmax(tf.matmul(g, w_fc) + b_fc)

    conv = tf.lite.TFLiteConverter.from_concrete_functions([net.get_concrete_function()], net)
    if quantize:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: (
            [rng.normal(size=(1, 8, 8, 3)).astype(np.float32)] for _ in range(8))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return bytes(conv.convert())


@pytest.fixture(scope="session")
def models():
    return {"int8": _convert(True), "float": _convert(False)}


def unpack(data: bytes) -> schema.ModelT:
    return schema.ModelT.InitFromObj(schema.Model.GetRootAs(data, 0))


def pack(model: schema.ModelT) -> bytes:
    builder = flatbuffers.Builder(4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def as_list(x):
    return [] if x is None else [int(v) for v in np.asarray(x).reshape(-1)]


# ---------------------------------------------------------------------------------------------
# 1. Real models compared field by field with the schema object API.

def check_against_schema(m: Loaded, data: bytes):
    ref = unpack(data)
    assert m.status == OK, m.error
    lib = m.lib
    assert lib.tts_version(m.h) == ref.version == 3

    assert lib.tts_num_operator_codes(m.h) == len(ref.operatorCodes)
    for i, oc in enumerate(ref.operatorCodes):
        assert m.opcode(i) == (max(oc.builtinCode, oc.deprecatedBuiltinCode), oc.customCode,
                               oc.version)

    assert lib.tts_num_buffers(m.h) == len(ref.buffers)
    for i, b in enumerate(ref.buffers):
        expected = b"" if b.data is None else np.asarray(b.data, np.uint8).tobytes()
        assert m.buffer(i, data) == expected, f"buffer {i}"

    assert lib.tts_num_metadata(m.h) == len(ref.metadata or [])
    name = ctypes.create_string_buffer(256)
    for i, md in enumerate(ref.metadata or []):
        assert lib.tts_metadata(m.h, i, name, 256) == md.buffer
        assert name.value == md.name
        assert lib.tts_find_metadata(m.h, md.name) == md.buffer
    assert lib.tts_find_metadata(m.h, b"no such entry") == -1

    assert lib.tts_num_subgraphs(m.h) == len(ref.subgraphs)
    for g, sg in enumerate(ref.subgraphs):
        sname = ctypes.create_string_buffer(256)
        n = lib.tts_subgraph_name(m.h, g, sname, 256)
        assert (sname.raw[:n] if n >= 0 else None) == sg.name
        assert m._i32s(lib.tts_subgraph_io, g, 0) == as_list(sg.inputs)
        assert m._i32s(lib.tts_subgraph_io, g, 1) == as_list(sg.outputs)

        assert lib.tts_num_tensors(m.h, g) == len(sg.tensors)
        for t, tensor in enumerate(sg.tensors):
            out, tname = m.tensor(g, t)
            assert tname == tensor.name
            assert out.type == tensor.type
            assert out.buffer == tensor.buffer
            assert bool(out.is_variable) == bool(tensor.isVariable)
            assert list(out.shape[:out.rank]) == as_list(tensor.shape)
            assert bool(out.has_shape_signature) == (tensor.shapeSignature is not None)
            assert list(out.shape_signature[:out.signature_rank]) == as_list(
                tensor.shapeSignature)
            q = tensor.quantization
            assert bool(out.quant_present) == (q is not None)
            if q is not None:
                ref_scale = np.asarray([] if q.scale is None else q.scale, np.float32)
                ref_zp = np.asarray([] if q.zeroPoint is None else q.zeroPoint, np.int64)
                np.testing.assert_array_equal(m.scales(g, t), ref_scale)
                np.testing.assert_array_equal(m.zero_points(g, t), ref_zp)
                assert out.quantized_dimension == q.quantizedDimension

        assert lib.tts_num_operators(m.h, g) == len(sg.operators)
        for i, op in enumerate(sg.operators):
            opcode_index, options_type, custom_size = m.op(g, i)
            assert opcode_index == op.opcodeIndex
            assert options_type == op.builtinOptionsType
            assert custom_size == len(as_list(op.customOptions))
            assert m._i32s(lib.tts_operator_io, g, i, 0) == as_list(op.inputs)
            assert m._i32s(lib.tts_operator_io, g, i, 1) == as_list(op.outputs)
            for kind, fields in OPTION_FIELDS.items():
                values = m.options(g, i, kind)
                if options_type not in (0, kind):
                    assert values is None, (i, kind)
                    continue
                assert values is not None
                if options_type == kind:
                    check_options(kind, values, op.builtinOptions, fields)


def check_options(kind, values, opts, fields):
    if kind == 9:
        assert struct.unpack("<f", struct.pack("<i", values[0]))[0] == np.float32(opts.beta)
    elif kind == 17:
        assert values[0] == int(opts.newShape is not None)
        assert values[1:] == as_list(opts.newShape)
    else:
        assert values == [int(getattr(opts, f)) for f in fields]


@pytest.mark.parametrize("kind", ["int8", "float"])
@pytest.mark.parametrize("misalign", [0, 1, 3])
def test_converter_model_matches_schema(models, load, kind, misalign):
    data = models[kind]
    check_against_schema(load(data, misalign), data)


def test_int8_model_has_every_op_and_quantization(models, load):
    ref = unpack(models["int8"])
    codes = {max(oc.builtinCode, oc.deprecatedBuiltinCode) for oc in ref.operatorCodes}
    # ADD, AVG_POOL, CONCAT, CONV, DW_CONV, FC, MAX_POOL, RESHAPE, SOFTMAX, PAD, MEAN
    assert {0, 1, 2, 3, 4, 9, 17, 22, 25, 34, 40} <= codes
    m = load(models["int8"])
    assert m.status == OK, m.error
    per_channel = [t for t in range(len(ref.subgraphs[0].tensors)) if len(m.scales(0, t)) > 1]
    assert per_channel, "expected per-channel quantized conv weights"


def test_committed_example_model_matches_schema(load):
    path = DEMO_MODEL
    if not path.exists():
        pytest.skip("tflm_train/data/mnist_cnn.tflite not present")
    data = path.read_bytes()
    check_against_schema(load(data, 1), data)


def test_repacked_model_matches_schema(models, load):
    # The Python builder lays the same model out differently (and omits default-valued fields).
    data = pack(unpack(models["int8"]))
    check_against_schema(load(data), data)


# ---------------------------------------------------------------------------------------------
# 2. Metadata and option defaults.

def test_metadata_added_in_python(models, load, lib):
    model = unpack(models["int8"])
    model.buffers.append(schema.BufferT())
    model.buffers[-1].data = np.frombuffer(b"training-plan-v1", np.uint8)
    entry = schema.MetadataT()
    entry.name, entry.buffer = b"tflm_train.plan", len(model.buffers) - 1
    model.metadata.append(entry)
    data = pack(model)
    m = load(data)
    check_against_schema(m, data)
    index = lib.tts_find_metadata(m.h, b"tflm_train.plan")
    assert index == len(model.buffers) - 1
    assert m.buffer(index, data) == b"training-plan-v1"
    assert lib.tts_find_metadata(m.h, b"tflm_train.pla") == -1


def _ops_by_code(model):
    codes = [max(oc.builtinCode, oc.deprecatedBuiltinCode) for oc in model.operatorCodes]
    return {codes[op.opcodeIndex]: (i, op) for i, op in enumerate(model.subgraphs[0].operators)}


def test_absent_option_fields_read_as_schema_defaults(models, load):
    model = unpack(models["int8"])
    ops = _ops_by_code(model)
    ops[3][1].builtinOptions = schema.Conv2DOptionsT()    # every field at its default: omitted
    ops[0][1].builtinOptions = schema.AddOptionsT()
    ops[25][1].builtinOptionsType, ops[25][1].builtinOptions = 0, None  # softmax: no options
    m = load(pack(model))
    assert m.status == OK, m.error
    assert m.options(0, ops[3][0], 1) == [0, 0, 0, 0, 1, 1, 0]   # dilation defaults to 1
    assert m.options(0, ops[0][0], 11) == [0, 1]                  # pot_scale_int16 defaults true
    assert m.options(0, ops[25][0], 9) == [0]                     # beta 0.0
    assert m.options(0, ops[3][0], 11) is None                    # conv carries no AddOptions


# ---------------------------------------------------------------------------------------------
# 3. Hostile inputs.

def expect_error(m: Loaded, status: int, *words: str):
    assert m.status == status, (m.status, m.error)
    assert m.error, "error message must not be empty"
    for w in words:
        assert w in m.error, m.error


def test_empty_short_and_wrong_identifier(models, load):
    expect_error(load(b""), INVALID, "0 bytes")
    expect_error(load(b"abc"), INVALID, "3 bytes")
    bad = bytearray(models["int8"])
    bad[4:8] = b"XYZ1"
    expect_error(load(bytes(bad)), INVALID, "identifier", "XYZ1", "TFL3")


def _patch_u32(data: bytes, pos: int, value: int) -> bytes:
    b = bytearray(data)
    struct.pack_into("<I", b, pos, value & 0xFFFFFFFF)
    return bytes(b)


def _field_pos(data: bytes, table_pos: int, slot: int) -> int:
    vtable = table_pos - struct.unpack_from("<i", data, table_pos)[0]
    vsize = struct.unpack_from("<H", data, vtable)[0]
    assert slot + 2 <= vsize
    return table_pos + struct.unpack_from("<H", data, vtable + slot)[0]


def test_patched_offsets_and_lengths(models, load):
    data = models["int8"]
    root = struct.unpack_from("<I", data, 0)[0]
    expect_error(load(_patch_u32(data, 0, len(data) + 100)), INVALID, "root table offset")
    # vtable beyond the end: the root table's soffset points past the buffer.
    expect_error(load(_patch_u32(data, root, root - len(data) - 8)), INVALID, "vtable")
    # Subgraphs offset pointing outside the buffer.
    sub_field = _field_pos(data, root, 8)
    expect_error(load(_patch_u32(data, sub_field, len(data))), INVALID, "subgraphs", "outside")
    # A huge vector length (the first tensor's shape).
    model = schema.Model.GetRootAs(data, 0)
    tensor = model.Subgraphs(0).Tensors(0)
    shape_len_pos = tensor._tab.Vector(tensor._tab.Offset(4)) - 4
    expect_error(load(_patch_u32(data, shape_len_pos, 0xFFFFFFFF)), INVALID, "tensor 0",
                 "limit")
    # Buffers vector length larger than what follows.
    buf_vec = _field_pos(data, root, 12)
    buf_len_pos = buf_vec + struct.unpack_from("<I", data, buf_vec)[0]
    expect_error(load(_patch_u32(data, buf_len_pos, 10000)), INVALID, "buffers")
    # A misaligned offset.
    misaligned = struct.unpack_from("<I", data, sub_field)[0] + 1
    expect_error(load(_patch_u32(data, sub_field, misaligned)), INVALID, "aligned")


def _edit(models, fn) -> bytes:
    model = unpack(models["int8"])
    fn(model)
    return pack(model)


def test_bad_indices(models, load):
    def op(model):
        return model.subgraphs[0].operators[0]

    def set_inputs(values):
        return lambda model: setattr(op(model), "inputs", np.array(values, np.int32))

    expect_error(load(_edit(models, set_inputs([0, 999, 2]))), INVALID, "operator 0 inputs[1]",
                 "999")
    expect_error(load(_edit(models, set_inputs([0, -5, 2]))), INVALID, "-5")
    expect_error(load(_edit(models, set_inputs([0, 2**31 - 1]))), INVALID, "2147483647")
    assert load(_edit(models, set_inputs([0, 1, -1]))).status == OK  # optional input

    def set_output(model):
        op(model).outputs = np.array([-1], np.int32)
    expect_error(load(_edit(models, set_output)), INVALID, "outputs[0]")

    def set_opcode(model):
        op(model).opcodeIndex = len(model.operatorCodes)
    expect_error(load(_edit(models, set_opcode)), INVALID, "opcode_index")

    def set_buffer(model):
        model.subgraphs[0].tensors[1].buffer = 2**32 - 1
    expect_error(load(_edit(models, set_buffer)), INVALID, "tensor 1", "buffer index 4294967295")

    def set_sg_input(model):
        model.subgraphs[0].inputs = np.array([len(model.subgraphs[0].tensors)], np.int32)
    expect_error(load(_edit(models, set_sg_input)), INVALID, "subgraph 0 inputs[0]")

    def set_metadata(model):
        model.metadata[0].buffer = len(model.buffers)
    expect_error(load(_edit(models, set_metadata)), INVALID, "metadata[0]", "buffer index")


def test_bad_tensors_and_options(models, load):
    def neg_dim(model):
        model.subgraphs[0].tensors[0].shape = np.array([1, -3, 8, 3], np.int32)
    expect_error(load(_edit(models, neg_dim)), INVALID, "shape[1] = -3")

    def many_dims(model):
        model.subgraphs[0].tensors[0].shape = np.ones(9, np.int32)
    expect_error(load(_edit(models, many_dims)), INVALID, "limit of 8")

    def bad_type(model):
        model.subgraphs[0].tensors[0].type = 99
    expect_error(load(_edit(models, bad_type)), UNSUPPORTED, "tensor type 99")

    def zp_mismatch(model):
        t = next(t for t in model.subgraphs[0].tensors if t.quantization and
                 t.quantization.scale is not None and len(t.quantization.scale) > 1)
        t.quantization.zeroPoint = np.zeros(1, np.int64)
        t.quantization.scale = np.ones(3, np.float32)
    # TFLM loads a tensor whose scale and zero-point counts differ (kernels read the first
    # entry; per-channel weights are checked at Prepare), so the reader does too (issue 12).
    m = load(_edit(models, zp_mismatch))
    assert m.status == OK, m.error

    def wrong_union(model):
        ops = _ops_by_code(model)
        ops[3][1].builtinOptionsType = 11  # a conv claiming AddOptions
        ops[3][1].builtinOptions = schema.AddOptionsT()
    expect_error(load(_edit(models, wrong_union)), INVALID, "builtin_options of type 11")

    def external_buffer(model):
        model.buffers[1].data = None
        model.buffers[1].offset, model.buffers[1].size = 4096, 64
    expect_error(load(_edit(models, external_buffer)), UNSUPPORTED, "buffers[1]", "2 GB")

    def no_subgraphs(model):
        model.subgraphs = []
    expect_error(load(_edit(models, no_subgraphs)), INVALID, "no subgraphs")


# Fuzzing ------------------------------------------------------------------------------------

class GuardedBuffer:
    """Anonymous memory whose last page is PROT_NONE: data placed to end at that page makes any
    read past its end fault, which in-process is as good as a sanitizer for over-reads."""

    def __init__(self, capacity: int):
        page = mmap.PAGESIZE
        pages = (capacity + page - 1) // page + 1
        self.map = mmap.mmap(-1, pages * page)
        self.base = ctypes.addressof(ctypes.c_char.from_buffer(self.map))
        self.guard = self.base + (pages - 1) * page
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        assert libc.mprotect(ctypes.c_void_p(self.guard), page, 0) == 0

    def place(self, data: bytes) -> int:
        addr = self.guard - len(data)
        ctypes.memmove(addr, data, len(data))
        return addr


@pytest.fixture(scope="session")
def guarded(models):
    return GuardedBuffer(max(len(m) for m in models.values()) * 2 + 4096)


def run_case(lib, guarded, data: bytes, where: str = ""):
    err = ctypes.create_string_buffer(ERR_CAP)
    checksum = ctypes.c_uint64()
    status = lib.tts_load_and_touch(guarded.place(data), len(data), ctypes.byref(checksum), err,
                                   ERR_CAP)
    if status == READER_BUG:
        failure = Path("/tmp") / f"reader_bug_{zlib.crc32(data):08x}.tflite"
        failure.write_bytes(data)
        pytest.fail(f"accessor out of bounds after a successful load{where}; input saved to "
                    f"{failure}")
    if status != OK:
        assert status in (INVALID, UNSUPPORTED), status
        assert err.value, "failure without a message"
    return status, err.value.decode()


@pytest.mark.parametrize("kind", ["int8", "float"])
def test_every_truncation_fails_cleanly(models, lib, guarded, kind):
    data = models[kind]
    assert run_case(lib, guarded, data)[0] == OK
    for n in range(len(data)):
        status, message = run_case(lib, guarded, data[:n])
        assert status != OK, f"truncation to {n} of {len(data)} bytes loaded"


def flip_corpus(data: bytes, seed: int, cases: int):
    rng = random.Random(seed)
    for _ in range(cases):
        b = bytearray(data)
        for _ in range(rng.choice((1, 1, 2, 4, 16))):
            pos = rng.randrange(len(b))
            mode = rng.random()
            if mode < 0.5:
                b[pos] ^= 1 << rng.randrange(8)
            elif mode < 0.8:
                b[pos] = rng.randrange(256)
            else:  # a whole interesting 32-bit word: offsets and lengths are 4-aligned
                pos &= ~3
                if pos + 4 <= len(b):
                    struct.pack_into("<I", b, pos, rng.choice(
                        (0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, len(b), len(b) - 4,
                         rng.randrange(1 << 32))))
        yield bytes(b)


@pytest.mark.parametrize("kind", ["int8", "float", "repacked"])
def test_random_byte_flips(models, lib, guarded, kind):
    data = pack(unpack(models["int8"])) if kind == "repacked" else models[kind]
    outcomes = {OK: 0, INVALID: 0, UNSUPPORTED: 0}
    seed = zlib.crc32(kind.encode()) & 0xFFFF  # fixed per kind, unlike hash() (salted per run)
    print(f"flip corpus seed {seed}")
    for i, case in enumerate(flip_corpus(data, seed=seed, cases=4000)):
        outcomes[run_case(lib, guarded, case, f" (flip corpus seed {seed}, case {i})")[0]] += 1
    # Both outcomes occur: flips in weights load fine, flips in structure are caught.
    assert outcomes[OK] > 0 and outcomes[INVALID] > 0, outcomes


def test_hypothesis_splices(models, lib, guarded):
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    data = models["int8"]

    @hypothesis.settings(max_examples=300, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(pos=st.integers(0, len(data) - 1), blob=st.binary(min_size=1, max_size=12),
                      cut=st.integers(0, 64))
    def check(pos, blob, cut):
        case = data[:pos] + blob + data[pos + len(blob):]
        run_case(lib, guarded, case[:len(case) - cut])

    check()


# Sanitizer build ----------------------------------------------------------------------------

DRIVER = r"""
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
extern "C" int32_t tts_load_and_touch(const uint8_t*, size_t, uint64_t*, char*, size_t);
// Corpus: repeated [uint32 length][bytes]. Each case gets an exact-size heap copy so ASan sees
// any read past its end.
int main(int argc, char** argv) {
  FILE* f = fopen(argv[1], "rb");
  if (!f) return 2;
  uint32_t n;
  long cases = 0, bugs = 0;
  while (fread(&n, 4, 1, f) == 1) {
    uint8_t* p = static_cast<uint8_t*>(malloc(n ? n : 1));
    if (n && fread(p, 1, n, f) != n) return 3;
    char err[256];
    uint64_t sum;
    if (tts_load_and_touch(p, n, &sum, err, sizeof(err)) == 100) ++bugs;
    free(p);
    ++cases;
  }
  printf("cases=%ld bugs=%ld\n", cases, bugs);
  return bugs ? 1 : 0;
}
"""


def test_corpus_under_address_sanitizer(models, tmp_path):
    cxx = shutil.which("g++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no host C++ compiler for the sanitizer build")
    (tmp_path / "driver.cc").write_text(DRIVER)
    exe = tmp_path / "reader_asan"
    srcs = [ROOT / "tests/native/reader_shim.cc", ROOT / "tflm_train/runtime/flatbuffer_reader.cc",
            ROOT / "tflm_train/runtime/tflite_model.cc", tmp_path / "driver.cc"]
    subprocess.run([cxx, "-std=c++17", "-O1", "-g", "-fsanitize=address,undefined",
                    "-fno-sanitize-recover=all", "-fno-exceptions", "-fno-rtti", f"-I{ROOT}",
                    *map(str, srcs), "-o", str(exe)], check=True)
    corpus = bytearray()

    def add(case: bytes):
        corpus.extend(struct.pack("<I", len(case)) + case)

    small = models["int8"]
    for n in range(0, len(small), 3):
        add(small[:n])
    for case in flip_corpus(small, seed=7, cases=3000):
        add(case)
    for case in flip_corpus(pack(unpack(small)), seed=8, cases=1000):
        add(case)
    (tmp_path / "corpus.bin").write_bytes(bytes(corpus))
    result = subprocess.run([str(exe), str(tmp_path / "corpus.bin")], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    assert "bugs=0" in result.stdout
