"""Errors the converter raises; each message names the problem (op, tensor, field, budget)."""


class ConversionError(ValueError):
    """The input model or the requested scheme cannot be converted."""


class InvalidModelError(ConversionError):
    """The bytes are not a well-formed int8 .tflite flatbuffer."""


class UnsupportedOpError(ConversionError):
    """The model uses an op (or an op option) the runtime does not implement."""


class BudgetError(ConversionError):
    """The update scheme does not fit the memory budget."""
