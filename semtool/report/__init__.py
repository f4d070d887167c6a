"""Plots (matplotlib, imported lazily) and progress display."""
