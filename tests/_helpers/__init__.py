"""Shared test helpers: one reference tester, and factories for every file kind."""

from tests._helpers.files import (csm_file, embeddings_file, features_file, predictions_file)
from tests._helpers.testers import Case, assert_matches_reference, seeded_cases

__all__ = ["Case", "assert_matches_reference", "csm_file", "embeddings_file", "features_file", "predictions_file",
           "seeded_cases"]
