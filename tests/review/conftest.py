"""The filter tests' real FIXTURE detector and tiny raw projects, shared with the review tests."""

from tests.detect.conftest import fixture_detector_dir, project  # noqa: F401 (pytest fixtures)
from tests.orchestrate.conftest import models_cache  # noqa: E402, F401 (FIXTURE models, built once)
