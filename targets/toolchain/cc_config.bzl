"""Cross toolchain config for the boards: arm-none-eabi + newlib (Cortex-M) and
riscv64-unknown-elf + picolibc (RV32), both Debian's packages."""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load("@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl", "feature", "flag_group", "flag_set", "tool_path")

_COMPILE = [ACTION_NAMES.c_compile, ACTION_NAMES.cpp_compile, ACTION_NAMES.assemble, ACTION_NAMES.preprocess_assemble]
_LINK = [ACTION_NAMES.cpp_link_executable]

def _impl(ctx):
    prefix = ctx.attr.tool_prefix
    tools = [
        tool_path(name = n, path = "/usr/bin/" + prefix + n)
        for n in ["gcc", "ld", "ar", "cpp", "nm", "objdump", "strip", "gcov"]
    ]
    cpu = ctx.attr.cpu_flags
    if prefix == "arm-none-eabi-":
        libc_compile = []
        libc_link = [
            "--specs=nano.specs",
            "--specs=rdimon.specs",
            "-nostartfiles",
            "-Wl,--gc-sections",
            "-Wl,--print-memory-usage",
            "-lstdc++",
            "-lm",
        ]
        includes = [
            # /usr/lib/arm-none-eabi/include is a symlink to /usr/include/newlib; both must be listed.
            "/usr/lib/arm-none-eabi/include",
            "/usr/include/newlib",
            "/usr/lib/gcc/arm-none-eabi/12.2.1",
        ]
        target, libc = "arm-none-eabi", "newlib"
    else:
        # picolibc with semihosting I/O; no libstdc++ exists for this target, so the <cxxx>
        # headers the firmware uses come from targets/rv32/include and the link is plain gcc.
        libc_compile = ["--specs=picolibc.specs", "-isystem", "targets/rv32/include"]
        libc_link = [
            "--specs=picolibc.specs",
            "--oslib=semihost",
            "-nostartfiles",
            "-Wl,--gc-sections",
            "-Wl,--print-memory-usage",
        ]
        includes = [
            "/usr/lib/picolibc/riscv64-unknown-elf/include",
            "/usr/lib/gcc/riscv64-unknown-elf/12.2.0",
            "%workspace%/targets/rv32/include",
        ]
        target, libc = "riscv32-unknown-elf", "picolibc"
    flags = feature(name = "cross_flags", enabled = True, flag_sets = [
        flag_set(actions = _COMPILE, flag_groups = [flag_group(flags = cpu + libc_compile + [
            "-g",
            "-ffunction-sections",
            "-fdata-sections",
        ])]),
        flag_set(actions = _LINK, flag_groups = [flag_group(flags = cpu + libc_link)]),
    ])
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = [flags],
        toolchain_identifier = ctx.attr.name,
        host_system_name = "x86_64-linux",
        target_system_name = target,
        target_cpu = "arm" if prefix == "arm-none-eabi-" else "riscv32",
        target_libc = libc,
        compiler = "gcc",
        abi_version = "eabi",
        abi_libc_version = libc,
        tool_paths = tools,
        cxx_builtin_include_directories = includes,
    )

arm_none_eabi_config = rule(
    implementation = _impl,
    provides = [CcToolchainConfigInfo],
    attrs = {"cpu_flags": attr.string_list(), "tool_prefix": attr.string(default = "arm-none-eabi-")},
)
