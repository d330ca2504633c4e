"""tflm-train: on-device training for TensorFlow Lite Micro.

    import tflm_train
    ext = tflm_train.convert(tflite_bytes, scheme=tflm_train.SparseUpdate(n_bias=2, weights={-1: 1.0}))
    tr = tflm_train.Trainer(ext, learning_rate=0.05, seed=0)
    tr.fit(x, y, epochs=3)

    # momentum / mini-batches cost SRAM, so they are chosen at convert time:
    ext = tflm_train.convert(tflite_bytes, optimizer=tflm_train.SGD(momentum=0.9, mini_batch=True))
    tr = tflm_train.Trainer(ext, learning_rate=0.05,
                            schedule=tflm_train.LRSchedule(warmup_steps=10, cosine=True))
    tr.fit(x, y, epochs=3, batch_size=8)
    tr.evaluate(x_test, y_test)      # {'accuracy': ..., 'loss': ...}
    stock_tflite = tr.export()

    # what to update for a memory budget, from the user's data:
    result = tflm_train.search(tflite_bytes, x, y, sram_budget=200 * 1024)
    ext = tflm_train.convert(tflite_bytes, scheme=result.scheme)
"""
from .binding import CheckpointError, RuntimeFailure
from .fork_safety import hold_tqdm_lock_across_fork
from .converter import (BudgetError, ConversionError, InvalidModelError, MemoryReport,
                        SGD, SparseUpdate, UnsupportedOpError, convert, memory_report)
from .scheme_search import SearchResult, search
from .trainer import History, LRSchedule, Trainer

hold_tqdm_lock_across_fork()

__version__ = "0.1.0"
__all__ = ["convert", "memory_report", "SparseUpdate", "SGD", "Trainer", "LRSchedule", "History",
           "search", "SearchResult",
           "MemoryReport",
           "ConversionError", "InvalidModelError", "UnsupportedOpError", "BudgetError",
           "RuntimeFailure", "CheckpointError"]
