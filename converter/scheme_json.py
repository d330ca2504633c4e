"""A SparseUpdate as a JSON file: what `tflm-train search` writes and `convert --scheme` reads.

Ratios are written as exact fractions ("1/8"), layers as integers (trainable-layer index,
negative from the end) or weight-tensor names. The file is checked against SCHEMA (jsonschema)
before it becomes a scheme, so a hand-edited file fails with the field that is wrong.
"""
from __future__ import annotations

import json
from fractions import Fraction

import jsonschema

from .errors import ConversionError
from .scheme import RATIOS, SparseUpdate

FORMAT = "tflm-train-scheme"
VERSION = 1

_RATIO_TEXT = sorted({str(Fraction(r).limit_denominator(8)) for r in RATIOS})

SCHEMA = {
    "type": "object",
    "required": ["format", "version", "n_bias", "weights"],
    "additionalProperties": False,
    "properties": {
        "format": {"const": FORMAT},
        "version": {"const": VERSION},
        "n_bias": {"type": "integer", "minimum": 0},
        "weights": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["layer", "ratio"],
                "additionalProperties": False,
                "properties": {
                    "layer": {"type": ["integer", "string"]},
                    "ratio": {"enum": _RATIO_TEXT},
                },
            },
        },
        "qas": {"type": "boolean"},
        "qas_clamp": {"type": "number", "exclusiveMinimum": 0},
        "inference_only": {"type": "boolean"},
        "lr_scale": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["layer", "factor"],
                "additionalProperties": False,
                "properties": {
                    "layer": {"type": ["integer", "string"]},
                    "factor": {"type": "number", "exclusiveMinimum": 0},
                },
            },
        },
        # Free-form provenance (the search's budget, board, predicted gain); not read back.
        "notes": {"type": "object"},
    },
}


def scheme_to_json(scheme: SparseUpdate, notes: dict | None = None) -> str:
    doc = {"format": FORMAT, "version": VERSION, "n_bias": int(scheme.n_bias),
           "weights": [{"layer": layer, "ratio": str(Fraction(float(r)).limit_denominator(8))}
                       for layer, r in scheme.weights.items()],
           "qas": bool(scheme.qas), "qas_clamp": float(scheme.qas_clamp),
           "inference_only": bool(scheme.inference_only)}
    if scheme.lr_scale:  # written only when set: files of schemes without it stay as they were
        doc["lr_scale"] = [{"layer": layer, "factor": float(f)}
                           for layer, f in scheme.lr_scale.items()]
    if notes:
        doc["notes"] = notes
    jsonschema.validate(doc, SCHEMA)
    return json.dumps(doc, indent=1) + "\n"


def scheme_from_json(text: str) -> SparseUpdate:
    """Parse and check a scheme file; ConversionError names what is wrong."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConversionError(f"scheme file is not JSON: {e}") from None
    try:
        jsonschema.validate(doc, SCHEMA)
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise ConversionError(f"scheme file: {where}: {e.message}") from None
    weights = {}
    for entry in doc["weights"]:
        if entry["layer"] in weights:
            raise ConversionError(f"scheme file: layer {entry['layer']!r} is listed twice")
        weights[entry["layer"]] = float(Fraction(entry["ratio"]))
    lr_scale = {}
    for entry in doc.get("lr_scale", []):
        if entry["layer"] in lr_scale:
            raise ConversionError(f"scheme file: lr_scale: layer {entry['layer']!r} is listed "
                                  "twice")
        lr_scale[entry["layer"]] = float(entry["factor"])
    return SparseUpdate(n_bias=doc["n_bias"], weights=weights, qas=doc.get("qas", True),
                        qas_clamp=doc.get("qas_clamp", 0.05),
                        inference_only=doc.get("inference_only", False), lr_scale=lr_scale)
