"""Reading and writing .tflite flatbuffers through the TFLite schema's Python object API."""
from __future__ import annotations

import flatbuffers
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from .errors import InvalidModelError

FILE_IDENTIFIER = b"TFL3"
# Buffer data is aligned like the TFLite converter does, so int32 biases and the embedded
# training program can be read in place on a Cortex-M.
BUFFER_ALIGNMENT = 16


def read_model(data: bytes) -> schema.ModelT:
    """Parse .tflite bytes into the schema's object tree, with a clear error for non-models."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidModelError(f"expected the .tflite file's bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < 8:
        raise InvalidModelError(f"not a .tflite model: only {len(data)} bytes")
    if data[4:8] != FILE_IDENTIFIER:
        raise InvalidModelError(
            f"not a .tflite model: file identifier is {data[4:8]!r}, expected {FILE_IDENTIFIER!r}")
    try:
        model = schema.ModelT.InitFromPackedBuf(data, 0)
    except Exception as exc:  # the generated parser raises struct/index errors on garbage
        raise InvalidModelError(f"malformed or truncated .tflite flatbuffer ({exc})") from exc
    if not model.subgraphs:
        raise InvalidModelError("the .tflite model has no subgraphs")
    for buf in model.buffers or []:
        if getattr(buf, "offset", 0) and buf.offset > 1:
            raise InvalidModelError("buffers stored outside the flatbuffer (models over 2 GB) "
                                    "are not supported")
    return model


class _AlignedBufferT(schema.BufferT):
    """BufferT whose data vector is aligned to BUFFER_ALIGNMENT bytes when packed."""

    def Pack(self, builder):  # noqa: N802 (schema API name)
        data_offset = None
        if self.data is not None:
            raw = bytes(bytearray(self.data))
            builder.StartVector(1, len(raw), BUFFER_ALIGNMENT)
            builder.head = builder.head - len(raw)
            builder.Bytes[builder.head:builder.head + len(raw)] = raw
            data_offset = builder.EndVector()
        schema.BufferStart(builder)
        if data_offset is not None:
            schema.BufferAddData(builder, data_offset)
        return schema.BufferEnd(builder)


def write_model(model: schema.ModelT) -> bytes:
    """Serialise the object tree to .tflite bytes with aligned buffers."""
    for i, buf in enumerate(model.buffers or []):
        if not isinstance(buf, _AlignedBufferT):
            aligned = _AlignedBufferT()
            aligned.data = buf.data
            model.buffers[i] = aligned
    builder = flatbuffers.Builder(1024)
    builder.ForceDefaults(False)
    root = model.Pack(builder)
    builder.Finish(root, file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def set_metadata(model: schema.ModelT, name: str, payload: bytes) -> None:
    """Add or replace the metadata entry `name` whose buffer holds `payload`."""
    buf = schema.BufferT()
    buf.data = list(payload) if payload else None
    model.buffers = list(model.buffers or [])
    model.metadata = list(model.metadata or [])
    for entry in model.metadata:
        if _name(entry.name) == name:
            model.buffers[entry.buffer] = buf
            return
    model.buffers.append(buf)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)


def remove_metadata(model: schema.ModelT, name: str) -> None:
    """Drop metadata entry `name`; its buffer stays (indices must not move) but is emptied."""
    kept = []
    for entry in model.metadata or []:
        if _name(entry.name) == name:
            model.buffers[entry.buffer].data = None
        else:
            kept.append(entry)
    model.metadata = kept or None


def get_metadata(model: schema.ModelT, name: str) -> bytes | None:
    """Return the payload of metadata entry `name`, or None."""
    for entry in model.metadata or []:
        if _name(entry.name) == name:
            if not 0 <= entry.buffer < len(model.buffers or []):
                raise InvalidModelError(f"metadata '{name}' names buffer {entry.buffer}, but the "
                                        f"model has {len(model.buffers or [])} buffers")
            data = model.buffers[entry.buffer].data
            return bytes(bytearray(data)) if data is not None else b""
    return None


def _name(value) -> str:
    # Names need not be valid UTF-8 (TFLite does not check): compare them leniently.
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def builtin_op_name(code: int) -> str:
    """The schema's name of a builtin operator code, e.g. 3 -> 'CONV_2D'."""
    for key, val in vars(schema.BuiltinOperator).items():
        if val == code and not key.startswith("_"):
            return key
    return f"BUILTIN_{code}"
