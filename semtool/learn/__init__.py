"""Training: the loop, hybrid sampling with soft labels, per-epoch tracking, DDP.

>>> from semtool.learn import TrainOptions, train
>>> train(TrainOptions(data="train.h5", output="model.safetensors", epochs=5))

Importing this package imports torch.
"""

from semtool.learn.hybrids import HybridPool, load_hybrids
from semtool.learn.losses import soft_cross_entropy
from semtool.learn.tracking import track
from semtool.learn.trainer import TrainOptions, TrainResult, train

__all__ = ["HybridPool", "TrainOptions", "TrainResult", "load_hybrids", "soft_cross_entropy", "track", "train"]
