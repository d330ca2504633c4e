"""Host = MCU: the training firmware in QEMU produces the host runtime's bytes."""
import pytest

from tflm_train import firmware
from tflm_train.demo import DemoConfig, demo_inputs, firmware_steps


def test_committed_firmware_inputs_are_current():
    """The Bazel test embeds examples/firmware/train/demo/*; they must be what the converter and
    the demo produce now (regenerate: python -c 'from tflm_train.demo import
    regenerate_firmware_inputs as r; r()')."""
    config = DemoConfig()
    ext, (xtr, ytr, _, _) = demo_inputs(config)
    steps = firmware_steps(ext, xtr, ytr, config)
    assert (firmware.DEMO_DIR / "model.tflite").read_bytes() == ext
    assert (firmware.DEMO_DIR / "steps.bin").read_bytes() == steps.encode()


def test_host_run_matches_trainer():
    """run_host replays exactly the first steps Trainer.fit makes."""
    import numpy as np
    from tflm_train import Trainer
    config = DemoConfig(firmware_steps=8)
    ext, (xtr, ytr, _, _) = demo_inputs(config)
    steps = firmware_steps(ext, xtr, ytr, config)
    host = firmware.run_host(ext, steps)
    tr = Trainer(ext, learning_rate=config.learning_rate, seed=config.seed,
                 schedule=config.schedule)
    order = np.random.default_rng(config.seed).permutation(len(xtr))
    # fit()'s first mini-batch (same shuffle, rates of a full run's schedule)
    tr._total_steps = config.epochs * -(-len(xtr) // config.batch_size)
    xq = tr.quantize_input(xtr)
    for j, i in enumerate(order[:config.batch_size]):
        tr._sample(xq[i], int(ytr[i]), config.batch_size, j)
    assert tr.updates == 1
    assert tr.trained_tensors() == host.tensors


@pytest.mark.slow
@pytest.mark.parametrize("board", ["an386", "an500"])
def test_board_bytes_equal_host(board):
    config = DemoConfig()
    ext, (xtr, ytr, _, _) = demo_inputs(config)
    steps = firmware_steps(ext, xtr, ytr, config)
    firmware.write_inputs(ext, steps)
    run = firmware.run_board(board, firmware.build(board))
    host = firmware.run_host(ext, steps)
    assert len(run.losses) == len(steps.labels) == config.firmware_steps
    assert run.losses == host.losses
    assert run.tensors and run.tensors == host.tensors
    lines = "\n".join(firmware.memory_lines(run))
    assert "[train] done" in lines and "stack high-water" in lines
