"""arm-none-eabi (Debian) toolchain config for the Cortex-M boards."""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load("@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl", "feature", "flag_group", "flag_set", "tool_path")

_COMPILE = [ACTION_NAMES.c_compile, ACTION_NAMES.cpp_compile, ACTION_NAMES.assemble, ACTION_NAMES.preprocess_assemble]
_LINK = [ACTION_NAMES.cpp_link_executable]

def _impl(ctx):
    tools = [
        tool_path(name = n, path = "/usr/bin/arm-none-eabi-" + n)
        for n in ["gcc", "ld", "ar", "cpp", "nm", "objdump", "strip", "gcov"]
    ]
    cpu = ctx.attr.cpu_flags
    flags = feature(name = "arm_flags", enabled = True, flag_sets = [
        flag_set(actions = _COMPILE, flag_groups = [flag_group(flags = cpu + [
            "-g",
            "-ffunction-sections",
            "-fdata-sections",
        ])]),
        flag_set(actions = _LINK, flag_groups = [flag_group(flags = cpu + [
            "--specs=nano.specs",
            "--specs=rdimon.specs",
            "-nostartfiles",
            "-Wl,--gc-sections",
            "-Wl,--print-memory-usage",
            "-lstdc++",
            "-lm",
        ])]),
    ])
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = [flags],
        toolchain_identifier = ctx.attr.name,
        host_system_name = "x86_64-linux",
        target_system_name = "arm-none-eabi",
        target_cpu = "arm",
        target_libc = "newlib",
        compiler = "gcc",
        abi_version = "eabi",
        abi_libc_version = "newlib",
        tool_paths = tools,
        # /usr/lib/arm-none-eabi/include is a symlink to /usr/include/newlib; both must be listed.
        cxx_builtin_include_directories = [
            "/usr/lib/arm-none-eabi/include",
            "/usr/include/newlib",
            "/usr/lib/gcc/arm-none-eabi/12.2.1",
        ],
    )

arm_none_eabi_config = rule(
    implementation = _impl,
    provides = [CcToolchainConfigInfo],
    attrs = {"cpu_flags": attr.string_list()},
)
