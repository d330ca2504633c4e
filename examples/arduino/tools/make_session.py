#!/usr/bin/env python3
"""Writes a SerialTrainer session (the lines a host sends over Serial) from the demo steps file.

    make_session.py --steps examples/firmware/train/demo/steps.bin --out session.txt

The steps file (examples/firmware/train/train_driver.h: "TTSD" header, then label + int8 sample
per step; only the samples and labels are used, the sketch has its own learning rate) holds labelled digits from the demo data set. The session hashes the weights, trains
on the first --train samples (whole mini-batches of 8), hashes them again, saves a checkpoint,
trains one more mini-batch on the next 8 samples, restores the checkpoint and trains that batch
again (hashes at each point), predicts the first --predict of those 8 samples (the restored weights never saw them), and
contains two malformed lines so the error replies are exercised too. Only the standard library is used (runs inside Bazel).
"""
import argparse
import struct

MAGIC = 0x44535454
# Header bytes per format version (version 2 added batch size and learning-rate schedule).
HEADER_BYTES = {1: 28, 2: 44}


def read_steps(data: bytes):
    magic, version, n, size = struct.unpack_from("<4I", data)
    if magic != MAGIC or version not in HEADER_BYTES:
        raise SystemExit(f"make_session.py: not a steps file of version {sorted(HEADER_BYTES)}")
    stride = 4 + (size + 3) // 4 * 4
    out = []
    for i in range(n):
        off = HEADER_BYTES[version] + i * stride
        label = struct.unpack_from("<i", data, off)[0]
        out.append((label, data[off + 4:off + 4 + size]))
    return out


def session_lines(steps, n_train: int, n_predict: int):
    if n_train + max(n_predict, 8) > len(steps):
        raise SystemExit(f"make_session.py: the steps file has only {len(steps)} samples")
    lines = ["H"]  # the untrained weights
    lines += [f"T {label} {sample.hex()}" for label, sample in steps[:n_train]]
    batch = [f"T {label} {sample.hex()}" for label, sample in steps[n_train:n_train + 8]]
    lines += ["H", "S"] + batch + ["H"]  # checkpoint, then one more mini-batch
    # Back to the checkpoint (same hash as at S) and the same batch again: same losses as the
    # first time; the weights differ slightly from the first pass because the stochastic
    # rounding stream is not part of a checkpoint (board and host twin still agree).
    lines += ["R", "H"] + batch + ["H"]
    lines.append("X unknown command")
    lines.append("P " + steps[0][1].hex()[:-2])  # one byte short
    lines += [f"P {sample.hex()}" for _, sample in steps[n_train:n_train + n_predict]]
    return lines


def reboot_lines(steps):
    """One mini-batch, save, reboot, then check the weights came back from the checkpoint.
    Bytes that arrive while the board restarts are lost (as on a real board; the shim also reads
    up to 64 bytes ahead), so blank lines, which the sketch ignores, follow the reboot."""
    lines = [f"T {label} {sample.hex()}" for label, sample in steps[:8]]
    lines += ["H", "S", "B"] + [""] * 100 + ["H", "P " + steps[8][1].hex()]
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--train", type=int, default=56)
    ap.add_argument("--predict", type=int, default=4)
    ap.add_argument("--reboot", action="store_true", help="write the reboot session instead")
    args = ap.parse_args(argv)
    with open(args.steps, "rb") as f:
        steps = read_steps(f.read())
    with open(args.out, "w") as f:
        lines = reboot_lines(steps) if args.reboot else session_lines(steps, args.train, args.predict)
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
