"""ctypes access to the test shims (tests/native/*_shim.cc): every entry takes a pointer to one
argument struct with named fields, so an argument cannot be passed in the wrong position.

The Structures below and in forward_shim.py / training_shim.py mirror the C++ structs by hand;
test_layouts.py checks each one against the size, offsets and kinds the shim exports."""
from __future__ import annotations

import ctypes

import numpy as np

from tests.native_libs import load_shim


class Args(ctypes.Structure):
    """An entry's argument struct, built by keyword: every field must be given except the
    outputs listed in `_outputs_` and the options in `_optional_` (left null / 0). A numpy
    array (or ctypes array) given for a pointer field is passed by address and kept alive as
    long as the struct."""

    _outputs_: tuple[str, ...] = ()
    _optional_: tuple[str, ...] = ()

    def __init__(self, **fields):
        super().__init__()
        self._keep = []
        types = dict(self._fields_)
        unknown = sorted(set(fields) - set(types))
        missing = sorted(set(types) - set(fields) - set(self._outputs_) - set(self._optional_))
        if unknown or missing:
            raise TypeError(f"{type(self).__name__}: unknown fields {unknown}, missing {missing}")
        for name, value in fields.items():
            setattr(self, name, self._c_value(types[name], value))

    def _c_value(self, ctype, value):
        if ctype is ctypes.c_void_p and isinstance(value, np.ndarray):
            assert value.flags["C_CONTIGUOUS"], "pointer fields need C-contiguous arrays"
            self._keep.append(value)
            return value.ctypes.data
        if ctype is ctypes.c_void_p and isinstance(value, ctypes.Array):
            self._keep.append(value)
            return ctypes.addressof(value)
        if isinstance(value, (list, np.ndarray)):  # a fixed-size array or a struct like Dims
            return tuple(int(v) for v in value)
        return value


class Dims(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int32), ("h", ctypes.c_int32), ("w", ctypes.c_int32),
                ("c", ctypes.c_int32)]


class Tile(ctypes.Structure):
    _fields_ = [("h", ctypes.c_int32), ("w", ctypes.c_int32)]


class ActivationRange(ctypes.Structure):
    _fields_ = [("min", ctypes.c_int32), ("max", ctypes.c_int32)]


class Shim:
    """A loaded shim: `shim.conv(**fields)` builds the argument struct the C++ entry `tts_conv`
    says it reads (tts_entry_args), taken from `module`, calls the entry and returns the struct
    (outputs included), with the entry's status as `.rc` when it returns one (else None)."""

    def __init__(self, name: str, module):
        self.name, self.module = name, module
        self.lib = load_shim(name)
        self.lib.tts_entry_args.argtypes = [ctypes.c_char_p]
        self.lib.tts_entry_args.restype = ctypes.c_char_p
        self.lib.tts_entry_returns_status.argtypes = [ctypes.c_char_p]
        self.lib.tts_entry_returns_status.restype = ctypes.c_int32
        self.lib.tts_entry_name.argtypes = [ctypes.c_int32]
        self.lib.tts_entry_name.restype = ctypes.c_char_p

    def entries(self) -> list[str]:
        names, i = [], 0
        while (entry := self.lib.tts_entry_name(i)) is not None:
            names.append(entry.decode())
            i += 1
        return names

    def args_type(self, entry: str) -> type[ctypes.Structure]:
        struct = self.lib.tts_entry_args(entry.encode())
        if struct is None:
            raise AttributeError(f"{self.name} has no entry {entry}")
        return getattr(self.module, struct.decode())

    def __getattr__(self, name: str):
        entry = "tts_" + name
        args_type = self.args_type(entry)
        fn = getattr(self.lib, entry)
        fn.argtypes = [ctypes.POINTER(args_type)]
        fn.restype = ctypes.c_int32 if self.lib.tts_entry_returns_status(entry.encode()) else None

        def call(**fields):
            args = args_type(**fields)
            args.rc = fn(ctypes.byref(args))
            return args
        return call
