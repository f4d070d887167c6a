"""The progress bar now lives below the data layer, in :mod:`semtool._progress`; this name stays for callers."""

from semtool._progress import progress

__all__ = ["progress"]
