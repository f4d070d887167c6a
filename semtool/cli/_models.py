"""What the model-consuming commands share (the functions live in :mod:`semtool.models.loading`)."""

from semtool.models.loading import groupings, in_model_classes, load_model_and_data  # noqa: F401
