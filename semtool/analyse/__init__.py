"""Engines that run the measures at scale: batched torch products on a device, process pools.

>>> from semtool.analyse.rsm import semantic_rsm
>>> rsm = semantic_rsm(features, kernel="cosine", matcher="batch-optimal:16").matrix
"""
