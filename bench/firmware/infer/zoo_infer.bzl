"""zoo_infer(name, model, test_boards): the inference firmware for one embedded model, the
output of its host twin and the host = board comparison test. Used by infer/BUILD."""

load(
    "//targets:defs.bzl",
    "board_firmware",
    "firmware_embed",
    "host_equals_board_test",
)

# Static arena per board: the board's RAM minus the 16 KB stack reserve and what the runtime,
# session storage and newlib's stdio need (the link fails if this is too generous).
ARENA_BYTES = {
    "an386": 236 * 1024,  # of 256 KB RAM (Nano 33 BLE)
    "an500": 300 * 1024,  # of 320 KB RAM (STM32F746)
    "an505": 492 * 1024,  # of 512 KB RAM (nRF5340 app core)
    "an385": 244 * 1024,  # of 264 KB RAM (RP2040's SRAM)
    "an547": 492 * 1024,  # of 512 KB RAM (DTCM)
    "rv32": 380 * 1024,  # of 400 KB RAM (ESP32-C3)
}
INFER_SEED = 1
INFER_RUNS = 2

def arena_copts():
    """-DARENA_BYTES=<ARENA_BYTES of the --config board> (the zoo training firmware too)."""
    d = {"//targets:board_" + b: ["-DARENA_BYTES=%d" % n] for b, n in ARENA_BYTES.items()}
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
    _infer_firmware("infer_" + name, name + "_model", model, ["INFER_RUNS=%d" % INFER_RUNS])
    host_equals_board_test(
        name = "infer_%s_test" % name,
        elf = ":infer_%s.elf" % name,
        host_output_name = "infer_%s_host_output" % name,
        host_tool = ":infer_host",
        inputs = [model],
        args = [str(INFER_SEED), str(INFER_RUNS)],
        size = "medium",
        boards = test_boards,
    )

def zoo_profile(name, model):
    """profile_<name>.elf: the per-op profile firmware (INFER_PROFILE) for `model`, an extended
    model whose plan keeps every tensor whole. bench/forward.py --profile writes such models to
    profile/ (not committed) and builds these targets."""
    _infer_firmware("profile_" + name, "profile_%s_model" % name, model, ["INFER_PROFILE=1"])

def _infer_firmware(name, embed, model, defines):
    """board_firmware `name` of fw_main.cc over `model` (embedded as cc_library `embed`)."""
    firmware_embed(name = embed, src = model, symbol = "zoo_model")
    board_firmware(
        name = name,
        srcs = ["fw_main.cc"],
        copts = arena_copts(),
        defines = ["INFER_SEED=%d" % INFER_SEED] + defines,
        deps = [":" + embed, ":infer_driver"],
        hw_variant = False,
    )
