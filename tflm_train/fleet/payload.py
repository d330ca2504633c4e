"""What travels between the server and a fleet client: the scheme's trained bytes and a small
header, nothing else (no frozen weights, no program).

Message layout (little-endian): magic "TTFL", version (u16), tensor count n (u16), model id
(8 bytes), round (u32), samples (u32), then n entries of tensor index (u32) and byte length
(u32), then the tensors' bytes in that order. The header is 24 + 8 n bytes (72 B for the demo
scheme's six tensors, beside its 2,664 trained bytes). A tensor's bytes are the part training
can change: a partially trained conv/FC sends only its trained leading rows.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

MAGIC = b"TTFL"
VERSION = 1
_HEAD = struct.Struct("<4sHH8sII")
_ENTRY = struct.Struct("<II")


def header_bytes(n_tensors: int) -> int:
    """Size of the header in front of n_tensors' trained bytes."""
    return _HEAD.size + _ENTRY.size * n_tensors


class UpdateRejected(ValueError):
    """A client's update does not belong to this model or round; the message names the client
    and what is wrong."""


@dataclass(frozen=True)
class Update:
    model_id: bytes
    round: int
    samples: int
    tensors: dict[int, bytes]   # tensor index -> trained bytes

    def encode(self) -> bytes:
        order = sorted(self.tensors)
        head = _HEAD.pack(MAGIC, VERSION, len(order), self.model_id, self.round, self.samples)
        entries = b"".join(_ENTRY.pack(t, len(self.tensors[t])) for t in order)
        return head + entries + b"".join(bytes(self.tensors[t]) for t in order)


def decode(message: bytes, client: str) -> Update:
    """Parse a message; UpdateRejected (naming `client`) if it is not a well-formed one."""
    message = bytes(message)
    if len(message) < _HEAD.size:
        raise UpdateRejected(f"client {client}: update of {len(message)} bytes is shorter than "
                             f"the {_HEAD.size}-byte header")
    magic, version, n, model_id, rnd, samples = _HEAD.unpack_from(message)
    if magic != MAGIC or version != VERSION:
        raise UpdateRejected(f"client {client}: not a tflm-train fleet update (magic {magic!r}, "
                             f"version {version}; expected {MAGIC!r}, {VERSION})")
    if len(message) < header_bytes(n):
        raise UpdateRejected(f"client {client}: header lists {n} tensors but the update has "
                             f"only {len(message)} bytes")
    entries = [_ENTRY.unpack_from(message, _HEAD.size + _ENTRY.size * i) for i in range(n)]
    total = header_bytes(n) + sum(length for _, length in entries)
    if total != len(message):
        raise UpdateRejected(f"client {client}: update has {len(message)} bytes, its header "
                             f"describes {total}")
    tensors, at = {}, header_bytes(n)
    for t, length in entries:
        if t in tensors:
            raise UpdateRejected(f"client {client}: tensor {t} appears twice")
        tensors[t] = message[at:at + length]
        at += length
    return Update(model_id, rnd, samples, tensors)


def check(update: Update, model_id: bytes, sizes: dict[int, int], rnd: int,
          client: str) -> None:
    """UpdateRejected unless `update` is for this model (id), this round, carries exactly the
    trained tensors (shape: which tensors) with their byte lengths, and at least one sample."""
    if update.model_id != model_id:
        raise UpdateRejected(f"client {client}: model id {update.model_id.hex()} is not this "
                             f"fleet's {model_id.hex()} (a different model, scheme or program)")
    if update.round != rnd:
        raise UpdateRejected(f"client {client}: update is for round {update.round}, this is "
                             f"round {rnd}")
    if set(update.tensors) != set(sizes):
        missing = sorted(set(sizes) - set(update.tensors))
        extra = sorted(set(update.tensors) - set(sizes))
        raise UpdateRejected(f"client {client}: wrong tensors: missing {missing}, not trained "
                             f"{extra}")
    for t, n in sizes.items():
        if len(update.tensors[t]) != n:
            raise UpdateRejected(f"client {client}: tensor {t} has {len(update.tensors[t])} "
                                 f"bytes, the model trains {n}")
    if update.samples < 1:
        raise UpdateRejected(f"client {client}: update reports {update.samples} samples")


def model_id(graph, program: bytes, trained_sizes: dict[int, int]) -> bytes:
    """8-byte digest of everything a round must share: the training program and every tensor's
    shape, type, quantisation and frozen bytes (a trained tensor's trained part excluded: it
    is what changes)."""
    h = hashlib.sha256(bytes(program))
    for t in graph.tensors:
        h.update(repr((t.index, t.name, tuple(t.shape), t.dtype, t.quantized_dimension)).encode())
        for arr in (t.scale, t.zero_point):
            h.update(b"-" if arr is None else np.ascontiguousarray(arr).tobytes())
        if t.data is not None:
            h.update(t.data.tobytes()[trained_sizes.get(t.index, 0):])
    for op in graph.ops:
        h.update(repr((op.kind, op.inputs, op.outputs)).encode())
    return h.digest()[:8]
