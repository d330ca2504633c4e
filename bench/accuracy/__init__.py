"""Accuracy bench (issue 5): does int8 on-device training with QAS match fp32 SGD?

    python -m bench.accuracy            # full run: 3 tasks x 3 seeds, lr tuned per method
    python -m bench.accuracy --quick    # CI smoke run (one small task, one seed, no tuning)

Prints a table, writes bench/results/accuracy.json and accuracy.png.
"""
