"""tflm-train: on-device training for TensorFlow Lite Micro.

    import tflm_train
    ext = tflm_train.convert(tflite_bytes, scheme=tflm_train.SparseUpdate(n_bias=2, weights={-1: 1.0}))
    tr = tflm_train.Trainer(ext, learning_rate=0.05, seed=0)
    tr.fit(x, y, epochs=3)
    tr.evaluate(x_test, y_test)      # {'accuracy': ..., 'loss': ...}
    stock_tflite = tr.export()
"""
from .converter import (BudgetError, ConversionError, InvalidModelError, MemoryReport,
                        SparseUpdate, UnsupportedOpError, convert, memory_report)
from .trainer import History, Trainer

__version__ = "0.1.0"
__all__ = ["convert", "memory_report", "SparseUpdate", "Trainer", "History", "MemoryReport",
           "ConversionError", "InvalidModelError", "UnsupportedOpError", "BudgetError"]
