#!/bin/bash
# zip_contents_test.sh <TflmTrain.zip> <sketch name>
# Checks the zip is an installable Arduino library: one top folder with library.properties
# (required fields), src/ with the library, the runtime and the kernels (no .cc left, which old
# Arduino builders ignore), every quoted #include in src/ resolving inside the zip relative to
# src/ or to the including file, every src/ .cpp starting with the fp-contract=off pragma, and
# the example sketch with its generated model data.
exec python3 - "$@" <<'PY'
import re, sys, zipfile

zip_path, sketch = sys.argv[1], sys.argv[2]
z = zipfile.ZipFile(zip_path)
names = set(z.namelist())
files = {n for n in names if not n.endswith("/")}
errors = []
def need(cond, msg):
    if not cond: errors.append(msg)

tops = {n.split("/")[0] for n in names}
need(tops == {"TflmTrain"}, f"one top folder TflmTrain expected, got {sorted(tops)}")
props = dict(l.split("=", 1) for l in z.read("TflmTrain/library.properties").decode().splitlines()
             if "=" in l and not l.startswith("#"))
for key in ("name", "version", "author", "maintainer", "sentence", "paragraph", "category",
            "url", "architectures"):
    need(key in props, f"library.properties lacks {key}")
need(props.get("name") == "TflmTrain", "library.properties name must be TflmTrain")
src = sorted(n[len("TflmTrain/src/"):] for n in files if n.startswith("TflmTrain/src/"))
for want in ("TflmTrain.h", "TflmTrain.cpp", "tflm_train/runtime/c_api.h",
             "tflm_train/runtime/session.cpp", "kernels/conv.h", "kernels/conv.cpp",
             "kernels/training/conv_grad.cpp"):
    need(want in src, f"src/{want} missing")
need(not [s for s in src if s.endswith(".cc")], "src/ still has .cc files")
for s in src:  # fused multiply-add would change the training bytes (tools/make_zip.py)
    if s.endswith(".cpp"):
        need(z.read("TflmTrain/src/" + s).startswith(b'#pragma GCC optimize("fp-contract=off")'),
             f"src/{s} lacks the fp-contract pragma")
for s in src:
    if not s.endswith((".h", ".cpp")):
        continue
    text = z.read("TflmTrain/src/" + s).decode()
    here = s.rsplit("/", 1)[0] + "/" if "/" in s else ""
    for inc in re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M):
        need(inc in src or here + inc in src, f"src/{s}: #include \"{inc}\" not in the zip")
ex = f"TflmTrain/examples/{sketch}/"
for want in (f"{sketch}.ino", "model_data.h", "model_data.cpp"):
    need(ex + want in files, f"{ex}{want} missing")
need("#include <TflmTrain.h>" in z.read(ex + sketch + ".ino").decode(), "sketch does not include TflmTrain.h")
print(f"{len(files)} files; src/ has {len(src)}; example {sketch}")
for e in errors: print("FAIL:", e)
sys.exit(1 if errors else 0)
PY
