"""Meaning: WordNet (offline-capable) and sentence embeddings of class names."""
