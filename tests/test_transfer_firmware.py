"""bench/transfer's model on the board: person_detect with a fresh 10-way head, converted with
the bench's scheme and optimizer (momentum 0.9, mini-batches of 8), trains 16 real
Fashion-MNIST samples (96x96, the bench's seed-0 split, its warm-up + cosine schedule and the
rates the committed run chose for int8 + QAS on this task: the head's through lr_scale, folded
into its QAS factors) in the training firmware on the Nano 33
BLE stand-in (an386, 256 KB RAM; the firmware's arena is 160 KB, the step plans ~152 KB).
Losses and trained bytes must equal the host runtime's. Borrows the demo firmware's input
files and puts them back (as test_float_io)."""
from __future__ import annotations

import dataclasses

import pytest

import tflm_train
from bench.accuracy.runs import Optim
from bench.transfer.methods import Rate, methods
from bench.transfer.runs import extended
from bench.transfer.tasks import BACKBONE, backbone, input_quantization, tasks
from tflm_train import firmware
from tflm_train.binding import NativeSession

from .demo_firmware import train_on_demo_firmware

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not BACKBONE.is_file(), reason=f"{BACKBONE} not present")]

STEPS = 16
RATE = Rate(lr=0.1, head_lr=3.0)  # bench/results/transfer.json: fashion10, int8_qas


def transfer_steps():
    base, opt = backbone(), Optim()
    task = tasks()["fashion10"]
    data = task.data(0, task.task.load(), input_quantization(base))
    m = methods()["int8_qas"]
    model = extended(base, dataclasses.replace(m, scheme=RATE.scheme(m.scheme)), task.classes, 0,
                     opt)
    s = data.split
    sched = opt.schedule(len(s.x_train), 3)
    steps = firmware.StepsFile(s.x_train[:STEPS].reshape(STEPS, -1), s.y_train[:STEPS],
                               RATE.lr, seed=0, rounding="stochastic",
                               batch_size=opt.batch_size, warmup_steps=sched.warmup_steps,
                               total_steps=sched.total_steps)
    return model, steps


def test_transfer_model_fits_the_demo_firmware():
    model, _ = transfer_steps()
    arena = tflm_train.Trainer(model).memory_report().arena_bytes
    assert arena <= 160 * 1024, f"{arena} B over the training firmware's 160 KB arena"


def test_transfer_training_on_the_board_equals_the_host():
    model, steps = transfer_steps()
    run = train_on_demo_firmware("an386", model, steps, timeout=1200)
    host = firmware.run_host(model, steps)
    assert len(run.losses) == STEPS and run.losses == host.losses
    assert run.tensors and run.tensors == host.tensors
    # the two updates (early in the warm-up) changed trained bytes
    fresh = NativeSession(model)
    assert any(fresh.tensor_bytes(t) != b for t, b in host.tensors.items())
