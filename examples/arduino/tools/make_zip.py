#!/usr/bin/env python3
"""Writes the Arduino library zip from a manifest of "<file>\t<path in zip>" lines.

The zip is reproducible (sorted entries, fixed 1980-01-01 timestamps, fixed permissions), so
the same sources always give the same bytes.

Every .cpp under <library>/src/ gets FP_PRELUDE as its first lines: Arduino cores compile in
GNU mode, where GCC contracts a*b+c into a fused multiply-add (vfma on the M4F/M7), which
rounds once instead of twice and changes the training bytes; the project builds everything with
-ffp-contract=off (README, "identical on host and board") and a library cannot pass compiler
flags to an Arduino build, so the pragma does it per file. `#line 1` keeps the line numbers of
compiler messages equal to the source's.
"""
import argparse
import zipfile

FP_PRELUDE = b'#pragma GCC optimize("fp-contract=off")  // tflm-train: no fused multiply-add\n#line 1\n'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    entries = {}
    with open(args.manifest) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            src, dest = line.split("\t")
            if dest in entries and entries[dest] != src:
                raise SystemExit(f"make_zip.py: two files for {dest}: {entries[dest]}, {src}")
            entries[dest] = src
    dirs = sorted({d[:i + 1] for d in entries for i, c in enumerate(d) if c == "/"})
    with zipfile.ZipFile(args.out, "w", zipfile.ZIP_DEFLATED) as z:
        # Directory entries first: some unzip tools want them before their files.
        for d in dirs:
            info = zipfile.ZipInfo(d, (1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o40755 << 16) | 0x10
            z.writestr(info, b"")
        for dest in sorted(entries):
            info = zipfile.ZipInfo(dest, (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(entries[dest], "rb") as f:
                data = f.read()
            parts = dest.split("/")
            if len(parts) > 2 and parts[1] == "src" and dest.endswith(".cpp"):
                data = FP_PRELUDE + data
            z.writestr(info, data)


if __name__ == "__main__":
    main()
