"""Dataset tests reuse the pose tests' session models (the FIXTURE pose stand-in)."""

from tests.pose.conftest import fixture_pose_dir  # noqa: F401
