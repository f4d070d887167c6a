"""Generative augmentation: MagicMix hybrids, SGID captions and img2img, pixel baselines.

One algorithm per module: :mod:`semtool.generate.magicmix` (Liew et al. 2022),
:mod:`semtool.generate.sgid` (Li, Xu, Wang 2023), :mod:`semtool.generate.baselines`
(mixup, Zhang et al. 2018; CutMix, Yun et al. 2019). :mod:`semtool.generate._items` decides
which (image, target) pairs are made and derives every random number from
(seed, image index, target); :mod:`semtool.generate._step` is the diffusion methods' shared
per-batch decode; :mod:`semtool.generate._writer` runs the batches into a
resumable, shardable ``hybrids`` file. Heavy libraries are imported inside functions.
"""
