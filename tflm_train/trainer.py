"""Host-side training over the C++ runtime: fit / evaluate / predict / memory_report / export."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
from tqdm.auto import tqdm

from .binding import NativeSession, learning_rate as scheduled_rate, load_checkpoint_file, \
    save_checkpoint_file
from .converter import MemoryReport, memory_report
from .converter.graph import build_graph
from .converter import float_io, new_head, offline_plan
from .converter.emit import split_channels
from .converter.program import METADATA_NAME, Flags, decode_header, decode_layers
from .converter.tflite_io import get_metadata, read_model, remove_metadata, write_model


def _check_finite(values: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        first = np.unravel_index(int(np.argmax(bad)), values.shape)
        raise ValueError(f"{what} contain {int(bad.sum())} NaN or infinite values (first at "
                         f"index {tuple(int(i) for i in first)}): they have no int8 value")


@dataclass
class History:
    """Per-epoch training loss (mean over steps) and, if validation data was given, accuracy."""
    loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class LRSchedule:
    """Learning-rate schedule in optimizer updates (mini-batches): linear warm-up over
    `warmup_steps`, then (if `cosine`) cosine decay to `final_fraction` x the base rate at the
    end of training (`total_steps`; None: the updates of the fit() call that starts it).
    Computed by the runtime's C++ so firmware gets the same rates (tt_learning_rate)."""
    warmup_steps: int = 0
    cosine: bool = False
    final_fraction: float = 0.0
    total_steps: int | None = None


class Trainer:
    """Train an extended .tflite (from `tflm_train.convert`) on the host, bit-for-bit as the MCU.

    learning_rate: SGD step size; with QAS (the default scheme) it means what it means for
        fp32 SGD on the real-valued weights.
    rounding: "stochastic" (unbiased, seeded, same on host and MCU) or "nearest".
    seed: seeds the shuffling and the stochastic rounding.
    schedule: LRSchedule (warm-up, cosine) over optimizer updates; None: constant rate.
    Momentum and mini-batches are convert-time choices (`convert(optimizer=SGD(...))`) because
    they cost SRAM; fit(batch_size > 1) needs SGD(mini_batch=True) or momentum.
    """

    def __init__(self, extended: bytes, learning_rate: float = 0.05, seed: int = 0,
                 rounding: str = "stochastic", schedule: LRSchedule | None = None):
        if rounding not in ("stochastic", "nearest"):
            raise ValueError(f"rounding={rounding!r}: use 'stochastic' or 'nearest'")
        if not (isinstance(learning_rate, (int, float, np.floating, np.integer))
                and np.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(f"learning_rate={learning_rate!r} must be a finite positive number")
        self._extended = bytes(extended)
        model = read_model(self._extended)
        if get_metadata(model, METADATA_NAME) is None:
            raise ValueError("not an extended tflm-train model: run tflm_train.convert() on "
                             "the int8 .tflite first")
        self._graph = build_graph(model)
        # A partially trained depthwise filter's SRAM part: its leading channels of every tap
        # (weight tensor -> that channel count); a partial conv/FC keeps its leading rows.
        ops = {op.index: op for op in self._graph.ops}
        self._depthwise_heads = {
            layer.weight_tensor: split_channels(ops[layer.op_index], layer)
            for layer in decode_layers(get_metadata(model, METADATA_NAME))
            if split_channels(ops[layer.op_index], layer) is not None}
        self.learning_rate = float(learning_rate)
        self.rounding = rounding
        self.schedule = schedule
        self.updates = 0  # optimizer updates so far (the schedule's step)
        self._total_steps = schedule.total_steps if schedule else None
        header = decode_header(get_metadata(model, METADATA_NAME))
        self.mse = bool(header["flags"] & Flags.LOSS_MSE)
        self.has_optimizer_state = bool(header["flags"] & Flags.OPTIMIZER_STATE)
        self.seed = int(seed)
        self._session = NativeSession(self._extended, seed=self.seed + 1)
        self._rng = np.random.default_rng(self.seed)
        inp = self._graph.tensors[self._graph.inputs[0]]
        out = self._graph.tensors[self._graph.outputs[0]]
        self.input_shape = tuple(inp.shape)
        # A float-I/O model (float_io.py) takes float32 samples, which its own QUANTIZE makes
        # int8, and its DEQUANTIZE gives float32 outputs: the Trainer passes both through.
        self.input_dtype = np.dtype(inp.dtype)
        self.output_dtype = np.dtype(out.dtype)
        self._in_q = (float(inp.scale[0]), int(inp.zero_point[0])) if inp.dtype == "int8" \
            else None
        self._out_q = (float(out.scale[0]), int(out.zero_point[0])) if out.dtype == "int8" \
            else None
        producer = self._graph.producer(float_io.loss_input(self._graph)[0])
        self._softmax_output = producer is not None and producer.kind == "SOFTMAX"
        self.num_classes = int(out.shape[-1])

    # -- data -------------------------------------------------------------------------------
    def quantize_input(self, x) -> np.ndarray:
        """Samples shaped like the model input, in its input type. For an int8-input model,
        float inputs are quantised with the model's input scale and zero point (int8 inputs
        pass through); real values beyond the int8 range are clipped to it, as TFLite's
        QUANTIZE saturates. A float-input model takes real values only, as float32 (its own
        QUANTIZE makes them int8). NaN and infinite values are refused (no int8 value)."""
        x = np.asarray(x)
        per_sample = int(np.prod(self.input_shape[1:]))
        if x.size % per_sample:
            raise ValueError(f"inputs of shape {x.shape} do not split into samples of shape "
                             f"{self.input_shape[1:]}")
        x = x.reshape((-1,) + self.input_shape[1:])
        if self._in_q is None:
            if not np.issubdtype(x.dtype, np.floating):
                raise ValueError(f"this model takes float32 inputs (real values, which its "
                                 f"QUANTIZE makes int8); got {x.dtype}")
            x = x.astype(np.float32)
            _check_finite(x, "inputs")
            return x
        if x.dtype == np.int8:
            return x
        if not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"inputs must be float (real values) or int8, got {x.dtype}")
        _check_finite(x, "inputs")
        scale, zp = self._in_q
        return np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)

    def _labels(self, y, n: int) -> np.ndarray:
        y = np.asarray(y).reshape(-1)
        if y.size != n:
            raise ValueError(f"{y.size} labels for {n} samples")
        if n == 0:
            raise ValueError("no samples: the inputs and labels are empty")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= self.num_classes:
            raise ValueError(f"labels must be class indices in [0, {self.num_classes})")
        return y.astype(np.int64)

    def _targets(self, y, n: int) -> np.ndarray:
        """Class indices (cross-entropy) or real target vectors (MSE) for n samples."""
        if n == 0:
            raise ValueError("no samples: the inputs are empty")
        if not self.mse:
            return self._labels(y, n)
        y = np.asarray(y, dtype=np.float32).reshape(n, -1) if np.size(y) else np.asarray(y)
        if y.shape != (n, self.num_classes):
            raise ValueError(f"MSE targets must have shape ({n}, {self.num_classes}), got "
                             f"{np.shape(y)}")
        _check_finite(y, "MSE targets")
        return y

    # -- training ---------------------------------------------------------------------------
    def current_learning_rate(self) -> float:
        """Rate of the next update under the schedule."""
        s = self.schedule
        if s is None:
            return self.learning_rate
        total = (self._total_steps or 0) if s.cosine else 0
        return scheduled_rate(self.learning_rate, self.updates, s.warmup_steps, total,
                              s.final_fraction)

    def _sample(self, xq, target, batch_size: int = 1, sample_in_batch: int = 0) -> float:
        label, real_target = (None, target) if self.mse else (int(target), None)
        loss = self._session.train_step(xq, label, self.current_learning_rate(), self.rounding,
                                        batch_size, sample_in_batch, real_target)
        if sample_in_batch == batch_size - 1:
            self.updates += 1
        return loss

    def fit(self, x, y, epochs: int = 1, batch_size: int = 1, shuffle: bool = True,
            validation_data=None, progress: bool = True) -> History:
        """SGD over (x, y) for `epochs`, one update per mini-batch of `batch_size` samples
        (the gradients of a mini-batch are averaged in the runtime; the last batch of an epoch
        may be smaller). y: class indices, or real target rows for an MSE model."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} must be a positive integer")
        if batch_size > 1 and not self.has_optimizer_state:
            raise ValueError(f"batch_size={batch_size} needs gradient sums in SRAM: convert "
                             "with optimizer=SGD(mini_batch=True) (memory_report shows the cost)")
        xq = self.quantize_input(x)
        targets = self._targets(y, len(xq))
        if self.schedule is not None and self.schedule.cosine and self._total_steps is None:
            self._total_steps = self.updates + epochs * -(-len(xq) // batch_size)
        history = History()
        for epoch in range(epochs):
            order = self._rng.permutation(len(xq)) if shuffle else np.arange(len(xq))
            losses = []
            bar = tqdm(total=len(order), desc=f"epoch {epoch + 1}/{epochs}",
                       disable=not progress, unit="sample", leave=False)
            for start in range(0, len(order), batch_size):
                batch = order[start:start + batch_size]
                for j, i in enumerate(batch):
                    losses.append(self._sample(xq[i], targets[i], len(batch), j))
                bar.update(len(batch))
                if len(losses) % 50 < len(batch):
                    bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}",
                                    lr=f"{self.current_learning_rate():.3g}")
            bar.close()
            history.loss.append(float(np.mean(losses)) if losses else float("nan"))
            if validation_data is not None:
                history.val_accuracy.append(self.evaluate(*validation_data)["accuracy"])
        return history

    def train_step(self, x, label) -> float:
        """One update on one sample; returns its loss. label: class index, or the real
        target vector for an MSE model."""
        xq = self.quantize_input(x)
        if len(xq) != 1:
            raise ValueError(f"train_step takes one sample, got {len(xq)}")
        return self._sample(xq[0], self._targets([label], 1)[0])

    # -- inference --------------------------------------------------------------------------
    def predict(self, x, dequantize: bool = False) -> np.ndarray:
        """Model outputs for each sample: int8 as the model defines them, or real values
        (dequantize=True). A float-output model returns its float32 outputs either way."""
        xq = self.quantize_input(x)
        out = np.stack([self._session.invoke(s).view(self.output_dtype) for s in xq]) \
            if len(xq) else np.zeros((0, self.num_classes), self.output_dtype)
        if dequantize and self._out_q is not None:
            scale, zp = self._out_q
            return (out.astype(np.float32) - zp) * scale
        return out

    def evaluate(self, x, y) -> dict:
        """Accuracy and mean cross-entropy loss of the outputs predict() returns (a SOFTMAX
        model's int8 probabilities, so at least -log(255/256) per sample; training takes its
        loss from the logits instead); for an MSE model, the mean squared error."""
        xq = self.quantize_input(x)
        if self.mse:
            err = self.predict(xq, dequantize=True) - self._targets(y, len(xq))
            return {"mse": float(np.mean(err * err)), "loss": float(np.mean(err * err))}
        labels = self._labels(y, len(xq))
        real = self.predict(xq, dequantize=True)
        if self._softmax_output:
            probs = np.clip(real, 1e-7, 1.0)
        else:
            z = real - real.max(axis=1, keepdims=True)
            probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        loss = float(-np.mean(np.log(np.maximum(probs[np.arange(len(labels)), labels], 1e-7))))
        acc = float(np.mean(real.argmax(axis=1) == labels))
        return {"accuracy": acc, "loss": loss}

    # -- reports and export -----------------------------------------------------------------
    def memory_report(self) -> MemoryReport:
        """Planned peak arena, updated-weight SRAM and flash bytes (the runtime checked the
        plan on open and allocates exactly the planned arena)."""
        report = memory_report(self._extended)
        assert report.arena_bytes == self._session.arena_bytes
        return report

    def trained_tensors(self, whole: bool = True) -> dict[int, bytes]:
        """Current bytes of every tensor being trained, keyed by tensor index. whole=True:
        whole tensors (a partially trained conv/FC holds only its leading rows in SRAM; the
        rest is the unchanged model data); whole=False: only the bytes in SRAM, i.e. only
        what training can change."""
        out = {}
        for t in self._session.trained_tensors():
            data = self._session.tensor_bytes(t)
            full = self._graph.tensors[t].data
            if whole and full is not None and len(data) < full.nbytes:
                data = self._whole(t, data)
            out[t] = data
        return out

    def _whole(self, t: int, sram: bytes) -> bytes:
        """Tensor t whole from its SRAM part and the model's data for the rest."""
        full = self._graph.tensors[t].data
        head = self._depthwise_heads.get(t)
        if head is None:
            return sram + full.tobytes()[len(sram):]
        taps = full.reshape(-1, full.shape[-1]).copy()
        taps[:, :head] = np.frombuffer(sram, np.int8).reshape(-1, head)
        return taps.tobytes()

    def _sram_part(self, t: int, whole: bytes) -> bytes:
        """What tensor t keeps in SRAM, out of its whole bytes."""
        head = self._depthwise_heads.get(t)
        if head is None:
            return bytes(whole[:len(self._session.tensor_bytes(t))])
        full = self._graph.tensors[t].data
        return np.frombuffer(whole, np.int8).reshape(-1, full.shape[-1])[:, :head].tobytes()

    def load_trained_tensors(self, tensors: dict[int, bytes]) -> None:
        """Set trained tensors, e.g. to a federated average (tflm_train.fleet). Takes a subset
        of trained_tensors(), whole (the frozen rows must equal the model's) or SRAM part
        only (trained_tensors(whole=False)). Optimizer state (momentum, mini-batch sums) is
        left as it is: load into a fresh Trainer to start clean."""
        sram = self.trained_tensors(whole=False)
        for t, data in tensors.items():
            if t not in sram:
                raise ValueError(f"tensor {t} is not trained by this model (trained: "
                                 f"{sorted(sram)})")
            n = len(sram[t])
            full = self._graph.tensors[t].data
            if len(data) != n and not (full is not None and len(data) == full.nbytes):
                raise ValueError(f"tensor {t}: {len(data)} bytes; the model trains {n}"
                                 + (f" of {full.nbytes}" if full is not None else ""))
            if len(data) > n and self._whole(t, self._sram_part(t, data)) != bytes(data):
                head = self._depthwise_heads.get(t)
                what, k = ("bytes", n) if head is None else ("channels", head)
                raise ValueError(f"tensor {t}: the {what} past the first {k} differ from the "
                                 f"model's, but only its first {k} {what} are trained")
        for t, data in tensors.items():
            self._session.write_tensor_bytes(t, self._sram_part(t, data) if len(data) > len(
                sram[t]) else bytes(data))

    def _model_with_trained_weights(self):
        model = read_model(self._extended)
        tensors = model.subgraphs[0].tensors
        users: dict[int, int] = {}
        for sg in model.subgraphs:
            for tensor in sg.tensors or []:
                users[tensor.buffer] = users.get(tensor.buffer, 0) + 1
        for t, data in self.trained_tensors().items():
            # The TFLite converter stores equal constants once (two zero-initialised biases
            # share a buffer); trained, they differ, so a shared buffer is split off first.
            if users[tensors[t].buffer] > 1:
                users[tensors[t].buffer] -= 1
                model.buffers.append(schema.BufferT())
                tensors[t].buffer = len(model.buffers) - 1
            model.buffers[tensors[t].buffer].data = np.frombuffer(data, np.uint8).copy()
        return model

    # -- checkpoints (tflm_train/runtime/checkpoint.h) -----------------------------------------
    def save_checkpoint(self, path) -> dict:
        """Save the trained tensors and the update count to a flash image file (two slots,
        power-safe format of the boards, nRF52840 geometry); an older checkpoint in the file is
        kept until this one is complete. Optimizer state (momentum) is not included."""
        return save_checkpoint_file(self._session, path, self.updates)

    def load_checkpoint(self, path) -> dict:
        """Load the newest valid checkpoint from a flash image file (one this model wrote)."""
        info = load_checkpoint_file(self._session, path)
        self.updates = int(info["step"])
        return info

    def save(self) -> bytes:
        """The extended model with the trained weights, to resume training later."""
        return write_model(self._model_with_trained_weights())

    def export(self) -> bytes:
        """A stock int8 .tflite with the trained weights (training program removed, and the
        OfflineMemoryAllocation plan too if convert() added it: TFLM's debugging mode that keeps
        every tensor alive cannot use an offline plan). A classifier from
        convert(num_classes=K) is trained now: its 'new' mark goes too."""
        model = self._model_with_trained_weights()
        remove_metadata(model, METADATA_NAME)
        remove_metadata(model, new_head.METADATA_NAME)
        ours = offline_plan.encode(offline_plan.inference_offsets(self._graph)[0])
        if get_metadata(model, offline_plan.METADATA_NAME) == ours:
            remove_metadata(model, offline_plan.METADATA_NAME)
        return write_model(model)
