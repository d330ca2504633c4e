"""Transfer bench (issue 12 item 5): on-device training on a real pretrained backbone.

TFLM's person_detect (MobileNetV1-0.25, 96x96x1 int8, trained on Visual Wake Words), as shipped,
gets a fresh classifier through `convert(num_classes=K)` and is adapted to two tasks built
from offline data: int8 + QAS against int8 without QAS, an fp32 TensorFlow twin and
last-layer-only training.

    python -m bench.transfer            # full run: 2 tasks x 3 seeds, lr tuned per method
    python -m bench.transfer --quick    # smoke run (tests/test_bench_transfer.py)

Prints a table, writes bench/results/transfer.json and transfer.png.
"""
