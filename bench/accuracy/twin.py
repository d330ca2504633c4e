"""fp32 baseline: a TensorFlow float twin of an int8 .tflite, trained with plain SGD on exactly
the parameters an update scheme selects.

The twin starts from the *dequantised* int8 weights, so fp32 and int8 begin at the same point
and differ only in the arithmetic of the forward pass and of the update: this is the comparison
the QAS claim is about. Weights are kept in the TFLite layout so that the scheme's "first k
output channels" means the same slice as in the runtime.
"""
from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

# Batch-1 steps are far too small to gain from threads; one thread each leaves the other cores
# to the rest of the machine (and makes runs faster under load).
try:
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
except RuntimeError:  # TensorFlow already initialised by the caller: keep its settings
    pass

from tflm_train.converter.emit import bias_scales  # noqa: E402
from tflm_train.converter.graph import Graph, build_graph  # noqa: E402
from tflm_train.converter.scheme import SparseUpdate, resolve  # noqa: E402
from tflm_train.converter.tflite_io import read_model  # noqa: E402

_ACT = {"NONE": lambda x: x, "RELU": tf.nn.relu, "RELU6": tf.nn.relu6,
        "RELU_N1_TO_1": lambda x: tf.clip_by_value(x, -1.0, 1.0)}


def _dequantize(t) -> np.ndarray:
    q = t.data.astype(np.float64)
    shape = [1] * q.ndim
    if t.scale.size > 1:
        shape[t.quantized_dimension] = -1
    scale = t.scale.astype(np.float64).reshape(shape)
    zp = t.zero_point.astype(np.float64).reshape(shape)
    return ((q - zp) * scale).astype(np.float32)


def _dequantize_bias(g: Graph, op) -> np.ndarray:
    """An int32 bias at the scales the int8 kernels and QAS use (converter/emit.py): its own
    when it has one per channel or one in all, else input x weight scale. TFLM never reads a
    bias's quantisation, so a shipped model's may be stale (person_detect's rank-1 biases say
    quantized_dimension 3); zero point 0 as TFLM assumes."""
    b = g.tensors[op.inputs[2]]
    return (b.data.astype(np.float64) * bias_scales(g, op).astype(np.float64)).astype(
        np.float32)


class FloatTwin:
    """Float forward pass of subgraph 0 with one tf.Variable per conv / depthwise / FC weight and
    bias; `train_step` applies SGD to the scheme's slice only (a mask per variable: 0 frozen,
    else the layer's lr factor, 1 unless the scheme's lr_scale sets it).

    momentum: the runtime's form, m = mu * m + g; w -= lr * m (g: the mini-batch mean)."""

    def __init__(self, tflite: bytes, scheme: SparseUpdate, momentum: float = 0.0):
        self.graph: Graph = build_graph(read_model(tflite))
        g = self.graph
        self.vars: dict[int, tf.Variable] = {}
        for op in g.trainable_ops():
            w = op.inputs[1]
            self.vars[w] = tf.Variable(_dequantize(g.tensors[w]), name=f"t{w}")
            if len(op.inputs) > 2 and op.inputs[2] >= 0:
                b = op.inputs[2]
                self.vars[b] = tf.Variable(_dequantize_bias(g, op), name=f"t{b}")
        self.masks: dict[int, tf.Tensor] = {}
        for u in resolve(g, scheme):
            w, b = u.op.inputs[1], (u.op.inputs[2] if len(u.op.inputs) > 2 else -1)
            if u.weight_channels:
                m = np.zeros(g.tensors[w].shape, np.float32)
                # the mask carries the layer's lr factor (scheme.lr_scale), as the runtime's
                # QAS factors do
                if u.op.kind == "DEPTHWISE_CONV_2D":
                    m[..., :u.weight_channels] = u.lr_scale
                else:
                    m[:u.weight_channels] = u.lr_scale
                self.masks[w] = tf.constant(m)
            if u.update_bias and b >= 0:
                self.masks[b] = tf.constant(np.full(g.tensors[b].shape, u.lr_scale, np.float32))
        self._trained = [self.vars[t] for t in self.masks]
        self._mask_list = [self.masks[t] for t in self.masks]
        self.momentum = float(momentum)
        self._velocity = [tf.Variable(tf.zeros_like(v)) for v in self._trained]
        last = g.producer(g.outputs[0])
        # Cross-entropy is taken on the logits (softmax's input), as the runtime's fused loss.
        self._logits_tensor = last.inputs[0] if last.kind == "SOFTMAX" else g.outputs[0]
        self._beta = float(last.options.get("beta", 1.0)) if last.kind == "SOFTMAX" else 1.0
        self._step = tf.function(self._sgd, reduce_retracing=True)
        self._logits = tf.function(self.logits, reduce_retracing=True)

    # -- forward ----------------------------------------------------------------------------
    def _op(self, op, env):
        g, o = self.graph, op.options
        x = env[op.inputs[0]]
        k = op.kind
        if k in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = self.vars[op.inputs[1]]
            strides = [1, o.get("stride_h", 1), o.get("stride_w", 1), 1]
            dil = [o.get("dilation_h", 1), o.get("dilation_w", 1)]
            if k == "CONV_2D":
                y = tf.nn.conv2d(x, tf.transpose(w, (1, 2, 3, 0)), strides, o["padding"],
                                 dilations=dil)
            else:
                c = int(x.shape[-1])
                kern = tf.reshape(w, (w.shape[1], w.shape[2], c, w.shape[3] // c))
                y = tf.nn.depthwise_conv2d(x, kern, strides, o["padding"], dilations=dil)
        elif k == "FULLY_CONNECTED":
            w = self.vars[op.inputs[1]]
            y = tf.matmul(tf.reshape(x, (-1, w.shape[1])), w, transpose_b=True)
        elif k == "MEAN":
            axes = [int(a) for a in np.atleast_1d(g.tensors[op.inputs[1]].data)]
            return tf.reduce_mean(x, axis=axes, keepdims=bool(o.get("keep_dims", False)))
        elif k == "AVERAGE_POOL_2D":
            y = tf.nn.avg_pool2d(x, (o["filter_h"], o["filter_w"]),
                                 (o["stride_h"], o["stride_w"]), o["padding"])
            return _ACT[op.activation](y)
        elif k == "RESHAPE":
            return tf.reshape(x, (-1,) + tuple(g.tensors[op.outputs[0]].shape[1:]))
        elif k == "SOFTMAX":
            return tf.nn.softmax(self._beta * x)
        else:
            raise NotImplementedError(f"float twin: {k}")
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            y = y + self.vars[op.inputs[2]]
        return _ACT[op.activation](y)

    def forward(self, x, stop: int) -> dict:
        """Every tensor of the float forward pass up to tensor `stop` (an op output)."""
        env = {self.graph.inputs[0]: x}
        for op in self.graph.ops:
            env[op.outputs[0]] = self._op(op, env)
            if op.outputs[0] == stop:
                return env
        raise AssertionError(f"tensor {stop} not produced")

    def logits(self, x):
        return self.forward(x, self._logits_tensor)[self._logits_tensor]

    # -- training ---------------------------------------------------------------------------
    def _sgd(self, x, y, lr):
        with tf.GradientTape() as tape:
            z = self._beta * self.logits(x)
            # mean over the batch, so lr means the same for every batch size
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, z))
        grads = tape.gradient(loss, self._trained)
        for v, g, m, vel in zip(self._trained, grads, self._mask_list, self._velocity):
            vel.assign(self.momentum * vel + m * g)
            v.assign_sub(lr * vel)
        return loss

    def train_step(self, x, y, lr: float) -> float:
        return float(self._step(tf.constant(x, tf.float32), tf.constant(y, tf.int64),
                                tf.constant(lr, tf.float32)))

    def evaluate(self, x, y, batch: int = 512) -> float:
        preds = [np.argmax(self._logits(tf.constant(x[i:i + batch], tf.float32)).numpy(), -1)
                 for i in range(0, len(x), batch)]
        return float(np.mean(np.concatenate(preds) == np.asarray(y)))
