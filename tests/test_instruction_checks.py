"""The runtime's instruction checks (tflm_train/runtime/instructions/*.h, their shared steps in
instruction.h) refuse at open a program whose instruction arguments do not fit the model, and
name the instruction: a fused one by its opcode's name, the others by number. Each case changes
one argument, by name, of the demo CNN's converted program; the program unchanged opens."""
from __future__ import annotations

import copy

import pytest

from tflm_train import SparseUpdate
from tflm_train.binding import NativeSession, RuntimeFailure
from tflm_train.converter import compile_model
from tflm_train.converter.program import METADATA_NAME, Opcode
from tflm_train.converter.program_format import OPCODES
from tflm_train.converter.tflite_io import read_model, set_metadata, write_model
from tflm_train.data import DEMO_MODEL as DEMO_PATH

DEMO_MODEL = DEMO_PATH.read_bytes()
SPEC = {op.name: op for op in OPCODES}
# conv1 trained makes conv1 -> depthwise -> 1x1 conv one BOTTLENECK_BACKWARD; the last conv
# before the global mean is a MEAN_HEAD_BACKWARD
SCHEMES = {
    "BOTTLENECK_BACKWARD": SparseUpdate(n_bias=0, weights={0: 1.0}),
    "MEAN_HEAD_BACKWARD": SparseUpdate(n_bias=2, weights={-1: 1.0, -2: 1.0}),
    "WEIGHT_UPDATE": SparseUpdate(n_bias=2, weights={-1: 1.0, -2: 1.0}),
    "LOSS_SOFTMAX_CE": SparseUpdate(n_bias=1),
}


def _program(opcode: str):
    _, _, step = compile_model(DEMO_MODEL, SCHEMES[opcode])
    return step.program


def _opens(program) -> None:
    tree = read_model(DEMO_MODEL)
    set_metadata(tree, METADATA_NAME, program.encode())
    NativeSession(write_model(tree))


def _changed(program, opcode: str, arg: str, value) -> tuple[object, int]:
    """A copy of `program` whose first `opcode` instruction has argument `arg` = value(program,
    args); returns it and the instruction's position."""
    changed = copy.deepcopy(program)
    index = next(i for i, ins in enumerate(changed.instructions)
                 if ins.opcode == Opcode[opcode])
    args = changed.instructions[index].args
    args[SPEC[opcode].arg_names.index(arg)] = value(changed, args)
    return changed, index


CASES = [
    # (opcode, argument, new value from (program, args), what the message names)
    ("BOTTLENECK_BACKWARD", "group", lambda p, a: 0, "BOTTLENECK_BACKWARD"),
    ("BOTTLENECK_BACKWARD", "d", lambda p, a: a[0], "BOTTLENECK_BACKWARD"),  # D must be depthwise
    ("BOTTLENECK_BACKWARD", "scales_p", lambda p, a: len(p.floats), "BOTTLENECK_BACKWARD"),
    ("BOTTLENECK_BACKWARD", "layer_x", lambda p, a: len(p.layers), "BOTTLENECK_BACKWARD"),
    ("BOTTLENECK_BACKWARD", "grad_e1", lambda p, a: p.output_tensor, "BOTTLENECK_BACKWARD"),
    ("MEAN_HEAD_BACKWARD", "conv", lambda p, a: p.n_ops, "MEAN_HEAD_BACKWARD"),
    ("MEAN_HEAD_BACKWARD", "layer", lambda p, a: -2, "MEAN_HEAD_BACKWARD"),
    ("MEAN_HEAD_BACKWARD", "g_mean", lambda p, a: p.output_tensor, "MEAN_HEAD_BACKWARD"),
    ("WEIGHT_UPDATE", "layer", lambda p, a: len(p.layers), "opcode 7"),
    ("WEIGHT_UPDATE", "grad_out", lambda p, a: p.output_tensor, "opcode 7"),
    ("LOSS_SOFTMAX_CE", "grad", lambda p, a: a[0], "opcode 2"),
    # the softmax's probabilities, as format version 3 read them: the loss takes the logits
    ("LOSS_SOFTMAX_CE", "logits", lambda p, a: p.output_tensor, "opcode 2"),
]


@pytest.mark.parametrize("opcode", sorted(SCHEMES))
def test_unchanged_programs_open(opcode):
    program = _program(opcode)
    assert any(ins.opcode == Opcode[opcode] for ins in program.instructions)
    _opens(program)


@pytest.mark.parametrize("opcode,arg,value,name", CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_mismatched_argument_is_refused_by_name(opcode, arg, value, name):
    changed, index = _changed(_program(opcode), opcode, arg, value)
    with pytest.raises(RuntimeFailure,
                       match=rf"instruction {index} \({name}\) does not match the model"):
        _opens(changed)
