"""Bazel rules for the TflmTrain Arduino library (examples/arduino).

* arduino_library_zip(name, library_files, strip_prefix, runtime, sketch_files, out)
    Zip that Arduino IDE's "Sketch > Include Library > Add .ZIP Library" installs: one top
    folder named after the library with library.properties, src/ and examples/. The runtime
    and kernel sources are not committed under the library: they are collected from the
    cc_library targets in `runtime` (srcs/hdrs, transitively through deps) and copied into
    src/ at their workspace paths, so "kernels/conv.h" resolves relative to src/ as it does
    relative to the workspace root. .cc becomes .cpp: Arduino IDE 1.x and arduino-cli before
    0.34 only compile .c/.cpp/.S. Each src/ .cpp starts with a pragma that turns off fused
    multiply-add (tools/make_zip.py says why).
* arduino_sketch_cpp(name, ino, out)
    The .ino as the C++ translation unit an Arduino build makes of it: `#include <Arduino.h>`
    first, then the sketch with its line numbers kept (#line). Our sketches define functions
    before use, so the prototypes Arduino's preprocessor would add are not needed.
"""

_CcSourcesInfo = provider(fields = {"files": "depset of source and header files"})

def _cc_sources_impl(target, ctx):
    direct = []
    for attr in ("srcs", "hdrs", "textual_hdrs"):
        for t in getattr(ctx.rule.attr, attr, []):
            direct.extend([f for f in t.files.to_list() if f.is_source])
    trans = [d[_CcSourcesInfo].files for d in getattr(ctx.rule.attr, "deps", []) if _CcSourcesInfo in d]
    return [_CcSourcesInfo(files = depset(direct, transitive = trans))]

_cc_sources = aspect(implementation = _cc_sources_impl, attr_aspects = ["deps"])

def _zip_impl(ctx):
    lib = ctx.attr.library_name
    lines = []
    inputs = []
    prefix = ctx.label.package + "/" + ctx.attr.strip_prefix + "/"
    for f in ctx.files.library_files:
        if not f.short_path.startswith(prefix):
            fail("%s is not under %s" % (f.short_path, prefix))
        lines.append("%s\t%s/%s" % (f.path, lib, f.short_path[len(prefix):]))
        inputs.append(f)
    for t in ctx.attr.runtime:
        for f in t[_CcSourcesInfo].files.to_list():
            dest = f.short_path
            if dest.endswith(".cc"):
                dest = dest[:-3] + ".cpp"
            lines.append("%s\t%s/src/%s" % (f.path, lib, dest))
            inputs.append(f)
    for f, dest in zip(ctx.files.sketch_files, ctx.attr.sketch_dests):
        lines.append("%s\t%s/%s" % (f.path, lib, dest))
        inputs.append(f)
    manifest = ctx.actions.declare_file(ctx.label.name + ".manifest")
    ctx.actions.write(manifest, "\n".join(sorted(lines)) + "\n")
    ctx.actions.run_shell(
        inputs = inputs + [manifest, ctx.file._tool],
        outputs = [ctx.outputs.out],
        command = "python3 %s --manifest %s --out %s" % (ctx.file._tool.path, manifest.path, ctx.outputs.out.path),
        mnemonic = "ArduinoZip",
        progress_message = "Packing Arduino library %s" % ctx.outputs.out.short_path,
    )
    return [DefaultInfo(files = depset([ctx.outputs.out]))]

arduino_library_zip = rule(
    implementation = _zip_impl,
    attrs = {
        "library_name": attr.string(mandatory = True),
        "library_files": attr.label_list(allow_files = True, mandatory = True),
        "strip_prefix": attr.string(mandatory = True, doc = "package-relative folder of the library"),
        "runtime": attr.label_list(aspects = [_cc_sources]),
        "sketch_files": attr.label_list(allow_files = True, doc = "generated files for the examples"),
        "sketch_dests": attr.string_list(doc = "library-relative path of each sketch_files entry"),
        "out": attr.output(mandatory = True),
        "_tool": attr.label(default = ":tools/make_zip.py", allow_single_file = True),
    },
)

def arduino_sketch_cpp(name, ino, out, **kwargs):
    native.genrule(
        name = name,
        srcs = [ino],
        outs = [out],
        cmd = "{ echo '#include <Arduino.h>'; echo '#line 1 \"'$$(basename $<)'\"'; cat $<; } > $@",
        **kwargs
    )
