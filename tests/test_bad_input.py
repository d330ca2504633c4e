"""Hostile and wrong inputs: every one raises a clear error naming the problem, in the converter
(tflm_train.ConversionError and subclasses) and in the C++ runtime (tflm_train.RuntimeFailure),
and the runtime never crashes on a corrupted extended model."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

import tflm_train
from tflm_train.binding import NativeSession, RuntimeFailure
from tflm_train.converter.program import HEADER_WORDS
from tflm_train.converter.tflite_io import get_metadata, read_model
from tflm_train.data import DEMO_MODEL

from . import model_factory as mf

DEMO = DEMO_MODEL
ALL = tflm_train.SparseUpdate(n_bias=5, weights={i: 1.0 for i in range(5)})


@pytest.fixture(scope="module")
def demo() -> bytes:
    return DEMO.read_bytes()


@pytest.fixture(scope="module")
def extended(demo) -> bytes:
    return tflm_train.convert(demo, ALL)


def _blob_span(ext: bytes) -> tuple[int, int]:
    blob = get_metadata(read_model(ext), "tflm_train")
    off = ext.find(blob)
    assert off > 0 and ext.count(blob) == 1
    return off, len(blob)


# -- converter: not a model ------------------------------------------------------------------

@pytest.mark.parametrize("data,words", [
    (b"", "0 bytes"),
    (b"\x00" * 7, "7 bytes"),
    (bytes(range(256)) * 4, "file identifier"),
    (np.random.default_rng(0).bytes(5000), "file identifier"),
])
def test_garbage(data, words):
    with pytest.raises(tflm_train.InvalidModelError, match=words):
        tflm_train.convert(data)


def test_not_bytes():
    with pytest.raises(tflm_train.InvalidModelError, match="bytes"):
        tflm_train.convert("tflm_train/data/mnist_cnn.tflite")


def test_wrong_file_identifier(demo):
    bad = demo[:4] + b"XXXX" + demo[8:]
    with pytest.raises(tflm_train.InvalidModelError, match=r"file identifier is b'XXXX'.*TFL3"):
        tflm_train.convert(bad)


def test_garbage_with_valid_identifier():
    data = b"\xff\xff\xff\x7fTFL3" + np.random.default_rng(1).bytes(300)
    with pytest.raises(tflm_train.InvalidModelError, match="malformed or truncated"):
        tflm_train.convert(data)


def test_truncated_demo_model(demo):
    """Every prefix length at a stride of 37 bytes, plus the last 64: a clear error (never an
    IndexError / struct.error / silent success)."""
    lengths = sorted(set(range(0, len(demo), 37)) | set(range(len(demo) - 64, len(demo))))
    for n in lengths:
        with pytest.raises(tflm_train.ConversionError) as info:
            tflm_train.convert(demo[:n])
        msg = str(info.value)
        assert any(w in msg for w in ("truncated", "bytes", "identifier", "buffer", "tensor")), \
            f"length {n}: unclear message {msg!r}"


# -- converter: unsupported models -------------------------------------------------------------

# ADD and CONCATENATION run since issue 4, TANH since issue 12 (tests/test_ops_elementwise.py).
@pytest.mark.parametrize("name,op", [("elu", "ELU")])
def test_unsupported_op(name, op):
    with pytest.raises(tflm_train.UnsupportedOpError, match=rf"op \d+: {op}\b") as info:
        tflm_train.convert(mf.custom_model(name))
    assert "Supported ops" in str(info.value)


def test_float_model():
    with pytest.raises(tflm_train.UnsupportedOpError, match="float32") as info:
        tflm_train.convert(mf.custom_model("float"))
    assert "int8" in str(info.value)


# -- converter: bad schemes / budgets -----------------------------------------------------------

@pytest.mark.parametrize("scheme,words", [
    (tflm_train.SparseUpdate(weights={7: 1.0}), r"layer 7 does not exist.*5 trainable layers"),
    (tflm_train.SparseUpdate(weights={-6: 1.0}), r"layer -6 does not exist"),
    (tflm_train.SparseUpdate(weights={"no_such_tensor": 1.0}), r"no_such_tensor"),
    (tflm_train.SparseUpdate(weights={-1: 0.3}), r"ratio 0.3.*must be one of"),
    (tflm_train.SparseUpdate(weights={-1: 2.0}), r"ratio 2.0"),
    (tflm_train.SparseUpdate(n_bias=6), r"n_bias=6.*\(5\)"),
    (tflm_train.SparseUpdate(n_bias=-1), r"n_bias=-1"),
    (tflm_train.SparseUpdate(n_bias=0), r"selects nothing"),
])
def test_bad_scheme(demo, scheme, words):
    with pytest.raises(tflm_train.ConversionError, match=words):
        tflm_train.convert(demo, scheme)


def test_budget_too_small(demo):
    from tflm_train.budget import sram_needed
    need = sram_needed(tflm_train.convert(demo, ALL))  # the whole count, tests/test_budget.py
    with pytest.raises(tflm_train.BudgetError) as info:
        tflm_train.convert(demo, ALL, sram_budget=need["total"] - 1)
    msg = str(info.value)
    assert f"arena {need['arena']:,} B" in msg and f"{need['total'] - 1:,} B budget" in msg
    tflm_train.convert(demo, ALL, sram_budget=need["total"])  # exactly enough is fine


def test_convert_extended_model_again(extended):
    with pytest.raises(tflm_train.ConversionError, match="already an extended"):
        tflm_train.convert(extended)


def test_trainer_on_plain_model(demo):
    with pytest.raises(ValueError, match="not an extended"):
        tflm_train.Trainer(demo)


# -- runtime: corrupted training program ------------------------------------------------------

def _set_word(ext: bytes, word: int, value: int) -> bytes:
    off, _ = _blob_span(ext)
    b = bytearray(ext)
    b[off + 4 * word: off + 4 * word + 4] = struct.pack("<i", value)
    return bytes(b)


@pytest.mark.parametrize("word,value,words", [
    (0, 0x12345678, "magic|program"),           # magic
    (1, 99, "version|program"),                 # version
    (2, 1 << 20, "program|blob|words"),         # total words
    (3, 3, "tensor|program"),                   # n_model_tensors
    (7, 1 << 28, "program|instruction|blob"),   # n_instructions
    (10, -5, "program|section|blob"),           # off_model
    (14, 1 << 24, "program|section|blob"),      # off_instructions
    (17, 64, "arena|plan"),                     # arena_bytes smaller than planned use
    (18, 9999, "tensor|program|input"),         # input tensor
])
def test_runtime_rejects_corrupted_header(extended, word, value, words):
    bad = _set_word(extended, word, value)
    with pytest.raises(RuntimeFailure, match=words) as info:
        NativeSession(bad)
    assert str(info.value).startswith("runtime: ")


def _channel_words(ext: bytes) -> tuple[dict[str, int], list[int]]:
    from tflm_train.converter.program import decode_header
    blob = get_metadata(read_model(ext), "tflm_train")
    words = list(struct.unpack(f"<{len(blob) // 4}i", blob))
    return decode_header(blob), words


@pytest.mark.parametrize("which,delta", [("multiplier", 1), ("shift", -1)])
def test_runtime_rejects_corrupted_channel_data(extended, which, delta):
    """Per-channel requantisation data is read in place from flash, so each stored multiplier
    and shift is recomputed at Open: a changed one names the op and the channel."""
    h, words = _channel_words(extended)
    op = next(i for i in range(h["n_ops"]) if words[h["off_ops"] + 2 * i + 1] >= 0)
    start = h["off_channel_data"] + words[h["off_ops"] + 2 * op + 1]
    nxt = [words[h["off_ops"] + 2 * i + 1] for i in range(op + 1, h["n_ops"])
           if words[h["off_ops"] + 2 * i + 1] >= 0]
    channels = ((nxt[0] if nxt else h["channel_data_words"]) - (start - h["off_channel_data"])) // 2
    channel = channels - 1
    word = start + channel + (channels if which == "shift" else 0)
    bad = _set_word(extended, word, words[word] + delta)
    with pytest.raises(RuntimeFailure, match=rf"op {op} \(\w+\): stored requantisation of output "
                       rf"channel {channel} .*differs"):
        NativeSession(bad)


@pytest.mark.parametrize("value", [-2, 1 << 20, "end"])
def test_runtime_rejects_bad_channel_data_offset(extended, value):
    """An op's channel-data offset outside the section, or one leaving too few words."""
    h, words = _channel_words(extended)
    op = next(i for i in range(h["n_ops"]) if words[h["off_ops"] + 2 * i + 1] >= 0)
    if value == "end":
        value = h["channel_data_words"] - 1
    bad = _set_word(extended, h["off_ops"] + 2 * op + 1, value)
    with pytest.raises(RuntimeFailure, match="channel-data offset|requantisation words"):
        NativeSession(bad)


def test_runtime_rejects_missing_channel_data(extended):
    h, words = _channel_words(extended)
    op = next(i for i in range(h["n_ops"]) if words[h["off_ops"] + 2 * i + 1] >= 0)
    bad = _set_word(extended, h["off_ops"] + 2 * op + 1, -1)
    with pytest.raises(RuntimeFailure, match=rf"op {op} .*no \d+ per-channel requantisation"):
        NativeSession(bad)


def test_runtime_rejects_truncated_blob(extended):
    """Metadata buffer cut short inside the blob (the flatbuffer itself stays valid)."""
    model = read_model(extended)
    blob = get_metadata(model, "tflm_train")
    from tflm_train.converter.tflite_io import set_metadata, write_model
    for cut in (0, 4, HEADER_WORDS * 4 - 4, HEADER_WORDS * 4, len(blob) // 2, len(blob) - 4,
                len(blob) - 1):
        m = read_model(extended)
        set_metadata(m, "tflm_train", blob[:cut])
        with pytest.raises(RuntimeFailure, match="runtime: .+"):
            NativeSession(write_model(m))


def test_runtime_rejects_plain_model(demo):
    with pytest.raises(RuntimeFailure, match="no training program"):
        NativeSession(demo)


@pytest.mark.parametrize("data", [b"", b"\x00" * 64, b"garbage!" * 100])
def test_runtime_rejects_garbage(data):
    with pytest.raises(RuntimeFailure, match="runtime: .+"):
        NativeSession(data)


def test_runtime_truncated_extended_model(extended):
    for n in list(range(0, len(extended), 97)) + [len(extended) - 1]:
        with pytest.raises(RuntimeFailure, match="runtime: .+"):
            NativeSession(extended[:n])


def _op_table_span(ext: bytes) -> tuple[int, int]:
    """Byte range of the program's op table (per-op OpState / channel-data offsets)."""
    from tflm_train.converter.program import decode_header
    off, _ = _blob_span(ext)
    h = decode_header(get_metadata(read_model(ext), "tflm_train"))
    return off + 4 * h["off_ops"], off + 4 * (h["off_ops"] + 2 * h["n_ops"])


def _fuzz(extended, seed: int, cases: int, region: str, run: bool, skip_op_table: bool = False):
    off, size = _blob_span(extended)
    lo, hi = _op_table_span(extended)
    rng = np.random.default_rng(seed)
    x = np.zeros(784, np.int8)
    opened = rejected = 0
    for _ in range(cases):
        b = bytearray(extended)
        pos = int(rng.integers(off, off + size)) if region == "blob" else \
            int(rng.integers(0, len(b)))
        flip = int(rng.integers(1, 256))
        if skip_op_table and lo <= pos < hi:
            continue  # known crash, see test_overlapping_op_state_slots_rejected
        b[pos] ^= flip
        try:
            s = NativeSession(bytes(b))
        except RuntimeFailure as e:
            assert str(e).startswith("runtime: ") and len(str(e)) > 20, str(e)
            rejected += 1
            continue
        opened += 1
        if run:
            s.invoke(x)
            try:
                s.train_step(x, 3, 0.05)
            except RuntimeFailure:
                pass
    assert opened > 0 and rejected > 0  # both outcomes occur: the corruptions are not vacuous
    return opened, rejected


@pytest.mark.parametrize("region", ["blob", "anywhere"])
def test_fuzz_single_byte_corruptions(extended, region):
    """3000 seeded single-byte XOR corruptions, in-process: each open either succeeds or raises
    RuntimeFailure with a message (a crash takes the test process down). Corruptions of the op
    table are left out here (known bug, tested in a subprocess below)."""
    _fuzz(extended, seed=0 if region == "blob" else 1, cases=3000, region=region, run=False)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_fuzz_open_invoke_train(extended, seed):
    """Also invoke and train the corrupted models that the runtime accepts."""
    _fuzz(extended, seed=100 + seed, cases=3000, region="blob" if seed % 2 else "anywhere",
          run=True)


_OVERLAP_REPRO = r"""
import struct, sys
import tflm_train
from tflm_train.binding import NativeSession, RuntimeFailure
from tflm_train.converter.program import decode_header
from tflm_train.converter.tflite_io import get_metadata, read_model
ext = tflm_train.convert(open(sys.argv[1], "rb").read(),
                         tflm_train.SparseUpdate(n_bias=5, weights={i: 1.0 for i in range(5)}))
blob = get_metadata(read_model(ext), "tflm_train")
off = ext.find(blob)
h = decode_header(blob)
word = h["off_ops"] + 2 * 3   # op 3's OpState offset -> 8 bytes into op 2's slot
prev = struct.unpack_from("<i", blob, 4 * (h["off_ops"] + 2 * 2))[0]
b = bytearray(ext)
b[off + 4 * word: off + 4 * word + 4] = struct.pack("<i", prev + 8)
try:
    NativeSession(bytes(b))
    print("OPENED")
except RuntimeFailure as e:
    print("REJECTED", e)
"""


def test_overlapping_op_state_slots_rejected():
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-c", _OVERLAP_REPRO, str(DEMO)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, f"runtime crashed (exit {r.returncode}): {r.stderr[-500:]}"
    assert "REJECTED" in r.stdout


@pytest.mark.slow
def test_fuzz_op_table_in_subprocess():
    import subprocess
    import sys
    code = ("import sys; sys.path.insert(0, %r)\n" % str(Path(__file__).resolve().parents[1]) +
            "from tests.test_bad_input import _fuzz, ALL, DEMO\n"
            "import tflm_train\n"
            "ext = tflm_train.convert(DEMO.read_bytes(), ALL)\n"
            "_fuzz(ext, seed=0, cases=3000, region='blob', run=False, skip_op_table=False)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"runtime crashed (exit {r.returncode})"


def test_depth_multiplier_that_wraps_in_32_bits_is_refused(extended):
    """8 input channels x (2^29 + 1) wraps to 8 in 32-bit arithmetic, the filter's channel
    count: the runtime must see the real product and refuse the model (it used to open, predict
    and train with it)."""
    from tflm_train.converter.tflite_io import write_model
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    m = read_model(extended)
    g = m.subgraphs[0]
    kinds = [m.operatorCodes[op.opcodeIndex].builtinCode for op in g.operators]
    op = g.operators[kinds.index(schema.BuiltinOperator.DEPTHWISE_CONV_2D)]
    in_c = int(g.tensors[op.inputs[0]].shape[-1])
    assert g.tensors[op.inputs[1]].shape[-1] == in_c == 8 and op.builtinOptions.depthMultiplier == 1
    op.builtinOptions.depthMultiplier = (1 << 29) + 1
    assert (in_c * op.builtinOptions.depthMultiplier) % (1 << 32) == in_c
    with pytest.raises(RuntimeFailure, match="DEPTHWISE_CONV_2D.*depth multiplier 536870913"):
        NativeSession(write_model(m))


def test_runtime_rejects_a_layer_training_more_channels_than_its_tensor_has():
    """A depthwise layer record claiming 10 of 16 channels of an 8-channel filter: its SRAM
    part (12 channels, rounded up to 4) would be gathered from past the filter's data. Here the
    persistent layout check already refuses the larger slot; Open's copy of the trained tensors
    checks the size against the tensor's too (a plan with room for the slot)."""
    from tflm_train import SparseUpdate, convert
    from tflm_train.converter.program import LAYER_FIELDS, LAYER_WORDS, decode_layers
    from tflm_train.data import DEMO_MODEL

    ext = convert(DEMO_MODEL.read_bytes(), SparseUpdate(n_bias=3, weights={1: 0.25}))
    h, _ = _channel_words(ext)
    blob = get_metadata(read_model(ext), "tflm_train")
    k = next(i for i, layer in enumerate(decode_layers(blob)) if layer.weight_channels == 2)
    base = h["off_layers"] + LAYER_WORDS * k
    bad = _set_word(ext, base + LAYER_FIELDS.index("out_channels"), 16)
    bad = _set_word(bad, base + LAYER_FIELDS.index("weight_channels"), 10)
    for factors in ("weight_factors", "bias_factors"):  # 16 factors that exist
        bad = _set_word(bad, base + LAYER_FIELDS.index(factors), 0)
    with pytest.raises(RuntimeFailure, match="layer 3 is not inside the persistent region|"
                                             "output channels the layer trains"):
        NativeSession(bad)
