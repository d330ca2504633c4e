#!/usr/bin/env python3
"""Writes a SerialTrainer session (the lines a host sends over Serial) from the demo steps file.

    make_session.py --steps examples/firmware/train/demo/steps.bin --out session.txt

The steps file (examples/firmware/train/train_driver.h: "TTSD" header, then label + int8 sample
per step) holds labelled digits from the demo data set. The session trains on the first
--train samples, predicts the next --predict ones, and contains two malformed lines so the
error replies are exercised too. Only the standard library is used (runs inside Bazel).
"""
import argparse
import struct

MAGIC = 0x44535454


def read_steps(data: bytes):
    magic, version, n, size, _lr, _seed, _rounding = struct.unpack_from("<4IfIi", data)
    if magic != MAGIC or version != 1:
        raise SystemExit("make_session.py: not a version-1 steps file")
    stride = 4 + (size + 3) // 4 * 4
    out = []
    for i in range(n):
        off = 28 + i * stride
        label = struct.unpack_from("<i", data, off)[0]
        out.append((label, data[off + 4:off + 4 + size]))
    return out


def session_lines(steps, n_train: int, n_predict: int):
    if n_train + n_predict > len(steps):
        raise SystemExit(f"make_session.py: the steps file has only {len(steps)} samples")
    lines = [f"T {label} {sample.hex()}" for label, sample in steps[:n_train]]
    lines.append("X unknown command")
    lines.append("P " + steps[0][1].hex()[:-2])  # one byte short
    lines += [f"P {sample.hex()}" for _, sample in steps[n_train:n_train + n_predict]]
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--train", type=int, default=12)
    ap.add_argument("--predict", type=int, default=4)
    args = ap.parse_args(argv)
    with open(args.steps, "rb") as f:
        steps = read_steps(f.read())
    with open(args.out, "w") as f:
        f.write("\n".join(session_lines(steps, args.train, args.predict)) + "\n")


if __name__ == "__main__":
    main()
