"""zoo_infer(name, model, test_boards): the inference firmware for one embedded model, the
output of its host twin and the host = board comparison test. Used by infer/BUILD."""

load(
    "//targets:defs.bzl",
    "board_firmware",
    "firmware_embed",
    "host_equals_board_test",
    "host_output",
)

# Static arena per board: the board's RAM minus the 16 KB stack reserve and what the runtime,
# session storage and newlib's stdio need (the link fails if this is too generous).
ARENA_BYTES = {
    "an386": 236 * 1024,  # of 256 KB RAM (Nano 33 BLE)
    "an500": 300 * 1024,  # of 320 KB RAM (STM32F746)
}
INFER_SEED = 1
INFER_RUNS = 2

def _per_board(fmt):
    d = {"//targets:board_" + b: [fmt % n] for b, n in ARENA_BYTES.items()}
    d["//conditions:default"] = []
    return select(d)

def zoo_infer(name, model, test_boards = []):
    """Targets for zoo model `name` (`model`: its extended .tflite with an inference-only plan):

      infer_<name>.elf/.bin/.hex, infer_<name>_qemu   firmware for the --config board
      infer_<name>_host_output                        what the host twin prints
      infer_<name>_test                               board output == host output, on the
                                                      `test_boards` (those whose RAM holds the
                                                      model's planned inference arena)
    """
    embed = name + "_model"
    firmware_embed(name = embed, src = model, symbol = "zoo_model")
    board_firmware(
        name = "infer_" + name,
        srcs = ["fw_main.cc"],
        copts = _per_board("-DARENA_BYTES=%d"),
        defines = ["INFER_SEED=%d" % INFER_SEED, "INFER_RUNS=%d" % INFER_RUNS],
        deps = [":" + embed, ":infer_driver"],
        hw_variant = False,
    )
    host_output(
        name = "infer_%s_host_output" % name,
        tool = ":infer_host",
        inputs = [model],
        args = [str(INFER_SEED), str(INFER_RUNS)],
    )
    if test_boards:
        host_equals_board_test(
            name = "infer_%s_test" % name,
            elf = ":infer_%s.elf" % name,
            host_output = ":infer_%s_host_output" % name,
            size = "medium",
            boards = test_boards,
        )

def zoo_profile(name, model):
    """profile_<name>.elf: the per-op profile firmware (INFER_PROFILE) for `model`, an extended
    model whose plan keeps every tensor whole. bench/forward.py --profile writes such models to
    profile/ (not committed) and builds these targets."""
    embed = "profile_%s_model" % name
    firmware_embed(name = embed, src = model, symbol = "zoo_model")
    board_firmware(
        name = "profile_" + name,
        srcs = ["fw_main.cc"],
        copts = _per_board("-DARENA_BYTES=%d"),
        defines = ["INFER_SEED=%d" % INFER_SEED, "INFER_PROFILE=1"],
        deps = [":" + embed, ":infer_driver"],
        hw_variant = False,
    )
