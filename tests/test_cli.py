"""The tflm-train command line, end to end on the demo model."""
import json

import pytest
from click.testing import CliRunner

from tflm_train.cli import _parse_weights, main
from tflm_train.demo import DEMO_MODEL


def test_convert_inspect_train_export(tmp_path):
    runner = CliRunner()
    ext, trained, stock = tmp_path / "ext.tflite", tmp_path / "t.tflite", tmp_path / "s.tflite"
    r = runner.invoke(main, ["convert", str(DEMO_MODEL), "-o", str(ext), "--n-bias", "2",
                             "--weights=-1:1"])
    assert r.exit_code == 0, r.output
    assert "peak SRAM arena" in r.output
    r = runner.invoke(main, ["inspect", str(ext), "--json"])
    info = json.loads(r.output)
    assert info["ops"][-1] == "SOFTMAX" and info["program"]["n_layers"] == 2
    r = runner.invoke(main, ["inspect", str(ext), "--plot", str(tmp_path / "m.png")])
    assert r.exit_code == 0 and (tmp_path / "m.png").stat().st_size > 1000
    r = runner.invoke(main, ["train", str(ext), "--epochs", "1", "--n-train", "100",
                             "-o", str(trained)])
    assert r.exit_code == 0, r.output
    assert "held-out accuracy" in r.output
    r = runner.invoke(main, ["export", str(trained), "-o", str(stock)])
    assert r.exit_code == 0, r.output
    assert b"tflm_train" not in stock.read_bytes()


def test_clear_errors(tmp_path):
    runner = CliRunner()
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model at all")
    r = runner.invoke(main, ["convert", str(bad), "-o", str(tmp_path / "o.tflite")])
    assert r.exit_code == 1 and "not a .tflite model" in r.output
    r = runner.invoke(main, ["convert", str(DEMO_MODEL), "-o", str(tmp_path / "o.tflite"),
                             "--weights=7:1"])
    assert r.exit_code == 1 and "layer 7 does not exist" in r.output
    r = runner.invoke(main, ["train", str(DEMO_MODEL)])
    assert r.exit_code == 1 and "not an extended" in r.output


def test_weight_ratios_are_parsed_as_fractions():
    assert _parse_weights("-1:1, -2:1/8,conv/kernel:0.25, 0:1/2") == \
        {-1: 1.0, -2: 0.125, "conv/kernel": 0.25, 0: 0.5}


@pytest.mark.parametrize("ratio", ["abc", "1/0", "2**-3", "__import__('os').getpid()", ""])
def test_bad_weight_ratio_is_a_usage_error(tmp_path, ratio):
    r = CliRunner().invoke(main, ["convert", str(DEMO_MODEL), "-o", str(tmp_path / "o.tflite"),
                                  f"--weights=-1:{ratio}"])
    assert r.exit_code == 2, r.output
    assert "Invalid value for '--weights'" in r.output
    assert f"ratio {ratio!r} is not a number" in r.output
    assert not (tmp_path / "o.tflite").exists()


def test_weight_ratio_outside_the_scheme_is_named(tmp_path):
    r = CliRunner().invoke(main, ["convert", str(DEMO_MODEL), "-o", str(tmp_path / "o.tflite"),
                                  "--weights=-1:1/3"])
    assert r.exit_code == 1 and "0.333" in r.output, r.output


@pytest.mark.slow
def test_demo_without_board():
    r = CliRunner().invoke(main, ["demo", "--board", "none"])
    assert r.exit_code == 0, r.output
    assert "held-out accuracy before" in r.output


def test_optimizer_options(tmp_path):
    runner = CliRunner()
    ext, plain = tmp_path / "ext.tflite", tmp_path / "plain.tflite"
    r = runner.invoke(main, ["convert", str(DEMO_MODEL), "-o", str(ext), "--weights=-1:1",
                             "--momentum", "0.5", "--mini-batch"])
    assert r.exit_code == 0 and "optimizer state" in r.output, r.output
    r = runner.invoke(main, ["train", str(ext), "--epochs", "1", "--n-train", "64",
                             "--batch-size", "8", "--warmup", "2", "--cosine"])
    assert r.exit_code == 0 and "held-out accuracy" in r.output, r.output
    runner.invoke(main, ["convert", str(DEMO_MODEL), "-o", str(plain), "--weights=-1:1"])
    r = runner.invoke(main, ["train", str(plain), "--n-train", "64", "--batch-size", "8"])
    assert r.exit_code == 1 and "--mini-batch" not in r.output and "mini_batch=True" in r.output
    r = runner.invoke(main, ["convert", str(DEMO_MODEL), "-o", str(plain), "--momentum", "1"])
    assert r.exit_code == 1 and "momentum" in r.output


def test_lr_scale_option_gives_the_api_bytes(tmp_path):
    from tflm_train.converter import SparseUpdate, convert
    out = tmp_path / "scaled.tflite"
    r = CliRunner().invoke(main, ["convert", str(DEMO_MODEL), "-o", str(out), "--n-bias=2",
                                  "--weights=-1:1,-2:1/2", "--lr-scale=-1:10, -2:1/4"])
    assert r.exit_code == 0, r.output
    scheme = SparseUpdate(n_bias=2, weights={-1: 1.0, -2: 0.5}, lr_scale={-1: 10.0, -2: 0.25})
    assert out.read_bytes() == convert(DEMO_MODEL.read_bytes(), scheme)


@pytest.mark.parametrize("args, message", [
    (["--weights=-1:1", "--lr-scale=-1:fast"], "factor 'fast' is not a number"),
    (["--weights=-1:1", "--lr-scale=-2:2"], "not trained by the"),
    (["--lr-scale=-1:2"], "give --n-bias and/or --weights too"),
])
def test_bad_lr_scale_is_named(tmp_path, args, message):
    r = CliRunner().invoke(main, ["convert", str(DEMO_MODEL), "-o", str(tmp_path / "o.tflite"),
                                  *args])
    assert r.exit_code != 0 and message in r.output, r.output
    assert not (tmp_path / "o.tflite").exists()


def test_inspect_lists_what_the_program_updates(tmp_path):
    out = tmp_path / "ext.tflite"
    runner = CliRunner()
    runner.invoke(main, ["convert", str(DEMO_MODEL), "-o", str(out), "--n-bias=3",
                         "--weights=-1:1,-2:1/2"])
    info = json.loads(runner.invoke(main, ["inspect", str(out), "--json"]).output)
    got = {(u["index"], u["weight_channels"], u["out_channels"], u["bias"])
           for u in info["updated_layers"]}
    assert got == {(4, 10, 10, True), (3, 8, 16, True), (2, 0, 16, True)}
