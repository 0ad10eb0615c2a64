"""The fit loop, callbacks, history, progress display and metrics."""

from descent.train.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateSchedule,
    ModelCheckpoint,
    ReduceLROnPlateau,
)
from descent.train.fit import TrainingRun, evaluate, fit, predict_array
from descent.train.history import History
from descent.train.metrics import METRICS, accuracy, decide, get_metric, mae, r2, rmse
from descent.train.plan import CompiledStep, compile_step

__all__ = [
    "METRICS", "Callback", "CompiledStep", "EarlyStopping", "History", "LearningRateSchedule",
    "ModelCheckpoint", "ReduceLROnPlateau", "TrainingRun", "accuracy", "compile_step", "decide",
    "evaluate", "fit", "get_metric", "mae", "predict_array", "r2", "rmse",
]
