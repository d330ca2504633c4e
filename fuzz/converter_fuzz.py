"""atheris target: the converter on mutated .tflite bytes (run with the venv's Python).

tflm_train.convert must either return an extended model or raise our ConversionError family
(InvalidModelError, UnsupportedOpError, BudgetError): any other exception is a crash. Coverage is
collected from the converter's own modules.

TFLM_FUZZ_CONVERTER_OPENS=1 also requires every model it returns to open in the runtime (design
contract 7). Off by default: the converter does not re-check everything the runtime's Prepare
checks (a corrupted CONV_2D output shape converts, then fails to open), so with it on the fuzzer
stops at such a model within a minute; see the README's Reliability section.

    .venv/bin/python fuzz/converter_fuzz.py -runs=200 -seed=1 \
        build/fuzz/corpus/converter fuzz/corpus/converter
"""
import os
import sys

import atheris

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

with atheris.instrument_imports(include=["tflm_train.converter"]):
    from tflm_train.converter import convert
    from tflm_train.converter.errors import ConversionError

from tflm_train.binding import NativeSession  # noqa: E402

OPENS = os.environ.get("TFLM_FUZZ_CONVERTER_OPENS") == "1"


def test_one_input(data: bytes) -> None:
    try:
        extended = convert(data)
    except ConversionError:
        return
    if OPENS:
        NativeSession(extended)  # raises (a crash here) if the runtime refuses the converter's plan


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
