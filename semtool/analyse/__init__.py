"""Engines that run the measures at scale: batched torch products on a device, process pools
(:mod:`~semtool.analyse.rsm`), and the file-level analyses the single commands and
``semtool report`` share (:mod:`~semtool.analyse.files`: 2 vs 2, IDM, RSMs on semtool files).

>>> from semtool.analyse.rsm import semantic_rsm
>>> rsm = semantic_rsm(features, kernel="cosine", matcher="batch-optimal:16").matrix
"""
