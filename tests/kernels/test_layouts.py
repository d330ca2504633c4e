"""Every ctypes mirror of a shim struct matches the C++ struct: size, and for each field its
offset, size and kind (float / signed / unsigned / pointer / array / struct) as the shim exports
them (tests/native/layout.h). The struct an entry reads is named by the shim itself
(tts_entry_args), so the binding cannot be mismatched by hand."""
from __future__ import annotations

import ctypes

import pytest

from tests.kernels import forward_shim, native, training_shim
from tests.native_libs import load_shim

_KINDS = {ctypes.c_float: "f", ctypes.c_double: "f", ctypes.c_void_p: "p", ctypes.c_char_p: "p"}
_KINDS.update({t: "i" for t in (ctypes.c_int8, ctypes.c_int16, ctypes.c_int32, ctypes.c_int64)})
_KINDS.update({t: "u" for t in (ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32,
                                ctypes.c_uint64)})


def _kind(ctype) -> str:
    if issubclass(ctype, ctypes.Structure):
        return "s"
    if issubclass(ctype, ctypes.Array):
        return "a"
    if issubclass(ctype, ctypes._Pointer):
        return "p"
    return _KINDS[ctype]


def _exported(lib, type_name: str, field: str):
    offset, size, kind = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_char()
    lib.tts_layout.restype = ctypes.c_int32
    found = lib.tts_layout(type_name.encode(), field.encode(), ctypes.byref(offset),
                           ctypes.byref(size), ctypes.byref(kind))
    return (offset.value, size.value, kind.value.decode()) if found else None


def layout_mismatches(lib, struct) -> list[str]:
    """What differs between a ctypes Structure (and the structs it nests) and the C++ layout."""
    name = struct.__name__
    whole = _exported(lib, name, "")
    if whole is None:
        return [f"{name}: not exported by the shim"]
    bad = [] if whole[1] == ctypes.sizeof(struct) else [
        f"{name}: size {ctypes.sizeof(struct)} in Python, {whole[1]} in C++"]
    lib.tts_layout_field_count.restype = ctypes.c_int32
    fields = lib.tts_layout_field_count(name.encode())
    if fields != len(struct._fields_):
        bad.append(f"{name}: {len(struct._fields_)} fields in Python, {fields} in C++")
    for field, ctype in struct._fields_:
        mine = (getattr(struct, field).offset, getattr(struct, field).size, _kind(ctype))
        theirs = _exported(lib, name, field)
        if theirs != mine:
            bad.append(f"{name}.{field}: (offset, size, kind) {mine} in Python, {theirs} in C++")
        if issubclass(ctype, ctypes.Structure):
            bad += layout_mismatches(lib, ctype)
    return bad


def _reader_shim():
    from tests import test_model_reader  # its TensorOut; imported here, it needs TensorFlow
    return native.Shim("reader_shim", test_model_reader)


_SHIMS = {"forward_shim": forward_shim.load, "training_shim": training_shim.load,
          "reader_shim": _reader_shim}


@pytest.mark.parametrize("name", sorted(_SHIMS))
def test_every_entry_struct_matches_the_cpp_layout(name):
    """Every entry the shim exports reads a struct that has a Python mirror, and the mirror
    matches."""
    shim = _SHIMS[name]()
    entries = shim.entries()
    assert entries
    bad = []
    for entry in entries:
        try:
            struct = shim.args_type(entry)
        except AttributeError:
            bad.append(f"{entry}: {shim.lib.tts_entry_args(entry.encode())} has no Python mirror")
            continue
        bad += layout_mismatches(shim.lib, struct)
    assert not bad, "\n".join(sorted(set(bad)))


def test_a_swapped_or_missing_field_is_reported():
    """The check itself: a mirror with two fields of the same type swapped, or one left out,
    does not pass."""
    lib = load_shim("training_shim")

    class ChannelSlice(ctypes.Structure):  # c_begin and c_end swapped
        _fields_ = [("outer", ctypes.c_int32), ("channels", ctypes.c_int32),
                    ("inner", ctypes.c_int32), ("c_end", ctypes.c_int32),
                    ("c_begin", ctypes.c_int32)]

    class BiasGradArgs(native.Args):  # c_end missing
        _fields_ = [("positions", ctypes.c_int32), ("channels", ctypes.c_int32),
                    ("grad_output", ctypes.c_void_p), ("c_begin", ctypes.c_int32),
                    ("grad_bias", ctypes.c_void_p)]

    assert len(layout_mismatches(lib, ChannelSlice)) == 2
    assert layout_mismatches(lib, BiasGradArgs) == [
        "BiasGradArgs: 5 fields in Python, 6 in C++"]
    assert layout_mismatches(lib, training_shim.ChannelSlice) == []


def test_args_refuse_unknown_and_missing_fields(training):
    with pytest.raises(TypeError, match="unknown fields \\['chanels'\\]"):
        training.bias_grad(positions=1, chanels=1, grad_output=None, c_begin=0, c_end=1,
                           grad_bias=None)
    with pytest.raises(TypeError, match="missing \\['c_end'\\]"):
        training.bias_grad(positions=1, channels=1, grad_output=None, c_begin=0, grad_bias=None)
