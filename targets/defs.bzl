"""Bazel macros for the tflm-train firmware.

    load("//targets:defs.bzl", "board_firmware", "firmware_embed", "qemu_test",
         "firmware_link_fail_test", "host_output", "host_equals_board_test")

* firmware_embed(name, src, symbol)        binary file -> cc_library with a const byte array
* board_firmware(name, srcs, deps, ...)    ELF (+ .bin/.hex) for the board of the platform
* qemu_test(name, firmware, expected_exit) run the ELF in QEMU, check exit code / output
* firmware_link_fail_test(name, srcs, ...) check that a firmware does NOT link (RAM overflow)
* host_output(name, tool, inputs, ...)     what a host build prints, as <name>.txt
* board_script_test(name, script, elf, files)  a test script driving the ELF in QEMU
* host_equals_board_test(name, elf, host_tool, host_output_name, inputs)  board output == host twin's
                                           output (compare_test.sh)

Boards (targets/boards.bzl): "an386" (QEMU mps2-an386, Cortex-M4F, stand-in for the Nano 33
BLE), "an500" (QEMU mps2-an500, Cortex-M7, stand-in for the STM32F746), "an505" (Cortex-M33),
"an385" (Cortex-M3, no FPU), "an547" (Cortex-M55) and "rv32" (QEMU virt, RV32IMC), selected with
--config=<name>. Without a config (host platform) all firmware targets are
incompatible and `bazel build //...` / `bazel test //...` skip them.
"""

load(":boards.bzl", "ALL_BOARDS", "ARM_BOARDS", "COMMON_LD", "CPU_FLAGS", "LINKER_SCRIPTS", "TOOL_PREFIX")

_TARGETS = "//targets"
_BOARD_LIB = _TARGETS + "/board"
_EMBED = _TARGETS + ":tools/embed.py"
_RUN_QEMU = _TARGETS + ":qemu/run_qemu.sh"
_QEMU_TEST = _TARGETS + ":qemu/qemu_test.sh"
_HOST_EQUALS_BOARD = _TARGETS + ":qemu/host_equals_board.sh"
_LINK_FAIL_TEST = _TARGETS + ":tools/link_fail_test.sh"
_ALL_LD = [ld for b in ALL_BOARDS for ld in LINKER_SCRIPTS[b] if ld] + [COMMON_LD]

_INCOMPATIBLE = [_TARGETS + ":incompatible"]

def _linker_script_opts(board, idx):
    """Link options naming `board`'s map (idx 0 QEMU, 1 real), none if it has no such map.
    picolibc's specs add their own script unless the driver itself sees -T (rv32)."""
    ld = LINKER_SCRIPTS[board][idx]
    if not ld:
        return []
    if board in TOOL_PREFIX:
        return ["-T", "$(location %s)" % ld]
    return ["-Wl,-T,$(location %s)" % ld]

def _objcopy_cmds(fmt):
    """select() dict: each board's objcopy (its cross tools) to format `fmt`."""
    d = {
        _setting(b): "%sobjcopy -O %s $< $@" % (TOOL_PREFIX.get(b, "arm-none-eabi-"), fmt)
        for b in ALL_BOARDS
    }
    d["//conditions:default"] = "true"
    return d

def _sh_quote(s):
    """Quotes a string for sh_test `args` (Bazel tokenizes them like a Bourne shell)."""
    return "'" + s.replace("'", "'\\''") + "'"

def _setting(board):
    return _TARGETS + ":board_" + board

def board_compatible_with(boards = ALL_BOARDS):
    """target_compatible_with value: only the given boards' platforms (never the host)."""
    for b in boards:
        if b not in LINKER_SCRIPTS:
            fail("unknown board %r (known: %s)" % (b, ", ".join(ALL_BOARDS)))
    d = {_setting(b): ([] if b in boards else _INCOMPATIBLE) for b in ALL_BOARDS}
    d["//conditions:default"] = _INCOMPATIBLE
    return select(d)

def host_twin_compatible_with():
    """target_compatible_with of a host twin (a cc_binary whose host build the firmware is
    compared with): it also builds on the Cortex-M configs, never on rv32, which has no C++
    library beyond targets/rv32/include. Its host build (a genrule tool) is unaffected."""
    return select({
        _setting("rv32"): _INCOMPATIBLE,
        "//conditions:default": [],
    })

def _ld_dir():
    """Directory of common.ld, which every board's linker script INCLUDEs."""
    lbl = Label(COMMON_LD)
    return (lbl.workspace_root + "/" if lbl.workspace_root else "") + lbl.package

def firmware_embed(name, src, symbol = None, visibility = None, **kwargs):
    """Embeds a binary file (model, data set) as C++ source.

    Produces cc_library `name` with header `<package>/<name>.h` declaring
        alignas(16) extern const uint8_t SYMBOL[];
        extern const unsigned SYMBOL_len;
    (const -> flash on the boards). Works for the host and the boards.

    Args:
      name: target name; also the header / source base name.
      src: label of the binary file.
      symbol: C identifier of the array (default: `name`).
    """
    symbol = symbol or name
    pkg = native.package_name()
    native.genrule(
        name = name + "_embed",
        srcs = [src],
        outs = [name + ".cc", name + ".h"],
        tools = [_EMBED],
        cmd = ("python3 $(location %s) --symbol %s --input $< --cc $(location %s.cc) " +
               "--header $(location %s.h) --header-include %s") %
              (_EMBED, symbol, name, name, (pkg + "/" if pkg else "") + name + ".h"),
        visibility = ["//visibility:private"],
    )
    native.cc_library(
        name = name,
        srcs = [name + ".cc"],
        hdrs = [name + ".h"],
        visibility = visibility,
        **kwargs
    )

def _objcopy(name, elf, fmt, ext, compat, visibility, tags):
    native.genrule(
        name = name + "_" + ext,
        srcs = [elf],
        outs = [name + "." + ext],
        cmd = select(_objcopy_cmds(fmt)),
        target_compatible_with = compat,
        visibility = visibility,
        tags = tags,
    )

def board_firmware(
        name,
        srcs = [],
        deps = [],
        copts = [],
        defines = [],
        linkopts = [],
        stack_size = None,
        boards = ALL_BOARDS,
        hw_variant = True,
        visibility = None,
        tags = []):
    """Firmware image for the board of the selected platform.

    Targets (all incompatible with the host platform and with boards not in `boards`):
      <name>.elf, <name>.bin, <name>.hex  QEMU memory map (an386.ld / an500.ld); run these.
      <name>                              filegroup of the three.
      <name>_qemu                         `bazel run` target: run_qemu.sh <board> <name>.elf
      <name>_hw.elf/.bin/.hex, <name>_hw  real-board memory map (nano33ble.ld under
                                          --config=an386, stm32f746.ld under --config=an500);
                                          only if hw_variant. Same objects, different link.
      <name>_lib                          the compiled srcs (alwayslink cc_library).

    Args:
      srcs, deps, copts, defines: as for cc_library; //targets/board is always added
        (include "targets/board/board.h"; main() returns the exit code).
      linkopts: extra linker flags.
      stack_size: bytes reserved for the stack (multiple of 256, default 16384). RAM check at
        link time: .data + .bss + stack_size must fit the board's RAM or the link fails.
      boards: subset of ALL_BOARDS (targets/boards.bzl) this firmware supports.
      hw_variant: also link the real-board (flashable) images.
    """
    compat = board_compatible_with(boards)
    lib = name + "_lib"
    native.cc_library(
        name = lib,
        srcs = srcs,
        deps = deps + [_BOARD_LIB],
        copts = copts,
        defines = defines,
        alwayslink = 1,
        target_compatible_with = compat,
        visibility = ["//visibility:private"],
        tags = tags,
    )
    extra = ["-Wl,-L," + _ld_dir()]
    if stack_size != None:
        if stack_size % 256 != 0:
            fail("stack_size must be a multiple of 256")
        extra.append("-Wl,--defsym=_stack_size=%d" % stack_size)

    variants = [(name, 0)] + ([(name + "_hw", 1)] if hw_variant else [])
    for out, idx in variants:
        # boards without a real map (LINKER_SCRIPTS None) have no _hw image: it is incompatible
        script = {_setting(b): _linker_script_opts(b, idx) for b in ALL_BOARDS}
        script["//conditions:default"] = []
        if idx == 1:
            compat = board_compatible_with([b for b in boards if LINKER_SCRIPTS[b][1]])
        native.cc_binary(
            name = out + ".elf",
            deps = [":" + lib],
            additional_linker_inputs = _ALL_LD,
            linkopts = extra + linkopts + select(script),
            target_compatible_with = compat,
            visibility = visibility,
            tags = tags,
        )
        _objcopy(out, ":" + out + ".elf", "binary", "bin", compat, visibility, tags)
        _objcopy(out, ":" + out + ".elf", "ihex", "hex", compat, visibility, tags)
        if idx == 0:  # the real-board maps do not run in QEMU (STM32 flash at 0x08000000)
            qemu = {_setting(b): [b] for b in ALL_BOARDS}
            qemu["//conditions:default"] = []
            native.sh_binary(
                name = out + "_qemu",
                srcs = [_RUN_QEMU],
                data = [":" + out + ".elf"],
                args = select(qemu) + ["$(rootpath :%s.elf)" % out],
                target_compatible_with = compat,
                visibility = visibility,
                tags = tags,
            )
        native.filegroup(
            name = out,
            srcs = [":" + out + ".elf", ":" + out + ".bin", ":" + out + ".hex"],
            # (filegroup has no target_compatible_with in Bazel 4; incompatibility propagates)
            visibility = visibility,
            tags = tags,
        )

def qemu_test(
        name,
        firmware,
        expected_exit = 0,
        timeout_s = 50,
        expected_output = [],
        qemu_args = [],
        boards = ALL_BOARDS,
        size = "small",
        tags = [],
        **kwargs):
    """sh_test running a firmware ELF in QEMU (machine from the platform), -icount shift=0.

    Passes iff QEMU's exit status (= the firmware's exit code through semihosting) equals
    `expected_exit` and every extended regex in `expected_output` matches a line of the output.
    The firmware's output is always echoed into the test log.

    Args:
      firmware: a board_firmware name (":smoke": its .elf is picked) or an ELF label.
      expected_exit: expected exit code (42 = any fault, see board.h).
      timeout_s: wall-clock limit for QEMU (exit 124 on timeout); keep below the Bazel test
        timeout (size "small" = 60 s).
      expected_output: list of `grep -E` patterns that must appear in the output.
      qemu_args: extra qemu-system-arm arguments.
    """
    machine = {_setting(b): ["--board", b] for b in ALL_BOARDS}
    machine["//conditions:default"] = []
    args = select(machine) + [
        "--expect-exit",
        str(expected_exit),
        "--timeout",
        str(timeout_s),
        "--runner",
        "$(rootpath %s)" % _RUN_QEMU,
    ]
    for p in expected_output:
        args += ["--expect-output", _sh_quote(p)]
    for a in qemu_args:
        args += ["--qemu-arg", _sh_quote(a)]
    args += ["--", "$(rootpaths %s)" % firmware]
    native.sh_test(
        name = name,
        srcs = [_QEMU_TEST],
        data = [firmware, _RUN_QEMU],
        args = args,
        size = size,
        target_compatible_with = board_compatible_with(boards),
        tags = tags,
        **kwargs
    )

# What cross_compile_args() refers to: an sh_test using it lists these in its data.
CROSS_COMPILE_DATA = _ALL_LD

def cross_compile_args():
    """sh_test args for a script that runs arm-none-eabi-g++ itself, for the board of the
    platform: --board B --cpu-flags '<CPU_FLAGS[B]>' --ld <B's QEMU linker script>
    --common-ld <common.ld> (link with -L its directory); nothing off the boards."""
    d = {_setting(b): [
        "--board",
        b,
        "--cpu-flags",
        _sh_quote(" ".join(CPU_FLAGS[b])),
        "--ld",
        "$(rootpath %s)" % LINKER_SCRIPTS[b][0],
        "--common-ld",
        "$(rootpath %s)" % COMMON_LD,
    ] for b in ALL_BOARDS}
    d["//conditions:default"] = []
    return select(d)

def firmware_link_fail_test(
        name,
        srcs,
        expected_error = "region `RAM' overflowed",
        control_defines = [],
        defines = [],
        stack_size = None,
        boards = ARM_BOARDS,
        size = "small",
        tags = []):
    """sh_test: linking `srcs` + the board layer with the board's QEMU linker script must FAIL
    with a message matching `expected_error` (grep -E). Runs arm-none-eabi-g++ directly
    (a failing link cannot be a Bazel build target).

    If `control_defines` is given, the same sources compiled with those -D defines (instead
    of `defines`) must link: this proves the failure is the overflow, not a broken command.
    """
    args = cross_compile_args() + ["--expect", _sh_quote(expected_error)]
    for d in defines:
        args += ["--define", _sh_quote(d)]
    for d in control_defines:
        args += ["--control-define", _sh_quote(d)]
    if stack_size != None:
        args += ["--stack-size", str(stack_size)]
    args += ["--"] + ["$(rootpaths %s)" % s for s in srcs] + [
        "$(rootpath %s:board.cc)" % _BOARD_LIB,
        "$(rootpath %s:board_cortex_m.cc)" % _BOARD_LIB,
        "$(rootpath %s:startup.cc)" % _BOARD_LIB,
    ]
    native.sh_test(
        name = name,
        srcs = [_LINK_FAIL_TEST],
        data = srcs + [_BOARD_LIB + ":" + f for f in ["board.h", "board.cc", "board_cortex_m.cc", "startup.cc"]] +
               CROSS_COMPILE_DATA,
        args = args,
        size = size,
        target_compatible_with = board_compatible_with(boards),
        tags = tags,
    )

def host_output(name, tool, inputs = [], args = [], stdin = None, visibility = None):
    """Genrule `name` -> <name>.txt: what `tool` (a host cc_binary, the twin of a firmware built
    from the same sources) prints, run as `tool <inputs...> <args...> [< stdin]`. The board's
    output is compared with this file by board_script_test / host_equals_board_test.

    Args:
      tool: label of the host binary.
      inputs: labels passed as file paths, in this order.
      args: literal arguments after the inputs.
      stdin: label of a file fed on standard input.
    """
    cmd = ["$(location %s)" % tool] + ["$(location %s)" % i for i in inputs] + args
    srcs = list(inputs)
    if stdin != None:
        cmd.append("< $(location %s)" % stdin)
        srcs.append(stdin)
    native.genrule(
        name = name,
        srcs = srcs,
        outs = [name + ".txt"],
        cmd = " ".join(cmd) + " > $@",
        tools = [tool],
        visibility = visibility,
    )

def board_script_test(name, script, elf, files = [], data = [], size = "small", boards = ALL_BOARDS):
    """sh_test running `script <board> <run_qemu.sh> <elf> <files...>` (board `none` off the
    boards, where the test is incompatible anyway): one calling convention for the scripts that
    run a firmware in QEMU themselves (host = board comparisons, Serial sessions).

    Args:
      script: the test script.
      elf: label of the firmware ELF (QEMU memory map).
      files: labels passed after the ELF as file paths, in this order.
      data: other files the script reads.
      boards: the boards the test runs on.
    """
    board = {_setting(b): [b] for b in ALL_BOARDS}
    board["//conditions:default"] = ["none"]
    native.sh_test(
        name = name,
        srcs = [script],
        args = select(board) + ["$(location %s)" % f for f in [_RUN_QEMU, elf] + files],
        data = [elf, _RUN_QEMU] + files + data,
        size = size,
        target_compatible_with = board_compatible_with(boards),
    )

def host_equals_board_test(
        name,
        elf,
        host_tool,
        host_output_name,
        inputs = [],
        args = [],
        script = "compare_test.sh",
        **kwargs):
    """The firmware `elf` in QEMU must print, line for line, what its host twin prints:
    host_output `host_output_name` (`host_tool` run on `inputs` and `args`, see host_output), and
    board_script_test `name` of the package's compare_test.sh, which names the lines compared
    and hands them to targets/qemu/host_equals_board.sh."""
    host_output(name = host_output_name, tool = host_tool, inputs = inputs, args = args)
    board_script_test(
        name = name,
        script = script,
        elf = elf,
        files = [":" + host_output_name],
        data = [_HOST_EQUALS_BOARD],
        **kwargs
    )
