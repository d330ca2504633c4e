"""Float-I/O int8 models: what the TFLite converter writes without inference_input_type /
inference_output_type = tf.int8 (its default). The input is float32 and a QUANTIZE makes it
int8; the output is float32 made by a final DEQUANTIZE. Everything between is int8, so the
runtime runs both ends as ordinary ops and training sees an int8 model."""
from __future__ import annotations

from .errors import UnsupportedOpError
from .graph import Graph, Op


def check_io(graph: Graph) -> None:
    """Model inputs must be int8 or float32 read only by QUANTIZE ops; outputs int8 or float32
    made by a DEQUANTIZE (UnsupportedOpError naming the tensor otherwise)."""
    for t in graph.inputs:
        tensor = graph.tensors[t]
        readers = graph.consumers(t)
        if tensor.dtype == "int8" or (tensor.dtype == "float32" and readers
                                      and all(op.kind == "QUANTIZE" for op in readers)):
            continue
        raise UnsupportedOpError(
            f"model input tensor {t} ({tensor.name}) is {tensor.dtype}; tflm-train needs an int8 "
            "input, or a float32 input that the model's QUANTIZE makes int8")
    for t in graph.outputs:
        tensor = graph.tensors[t]
        if tensor.dtype == "int8" or (tensor.dtype == "float32" and final_dequantize(graph, t)):
            continue
        raise UnsupportedOpError(
            f"model output tensor {t} ({tensor.name}) is {tensor.dtype}; tflm-train needs an int8 "
            "output, or a float32 output that a DEQUANTIZE makes from int8")


def final_dequantize(graph: Graph, t: int) -> Op | None:
    """The DEQUANTIZE (int8 -> float32) producing tensor t, if that is how t is made."""
    op = graph.producer(t)
    if op is not None and op.kind == "DEQUANTIZE" and \
            graph.tensors[op.inputs[0]].dtype == "int8":
        return op
    return None


def loss_input(graph: Graph) -> tuple[int, Op | None]:
    """The tensor the loss reads and the final DEQUANTIZE it skips, if any. A float output is
    the DEQUANTIZE of an int8 tensor; the loss reads that int8 tensor (the same values, exactly
    representable), so the int8 loss kernels (softmax cross-entropy from the int8 logits of a
    final SOFTMAX or of the output itself, MSE on int8 predictions) serve float-output models
    unchanged, and the DEQUANTIZE needs no backward."""
    out = graph.outputs[0]
    dq = final_dequantize(graph, out)
    return (dq.inputs[0], dq) if dq is not None else (out, None)
