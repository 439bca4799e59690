"""TensorFlow's start-up chatter, silenced by default; the user's own log level still respected.

TensorFlow prints a screenful on import (oneDNN notes, "Could not find cuda drivers", CPU feature
notes, "All log messages before absl::InitializeLog() ...") into every terminal and every Prefect
log of the filter and pose stages. `TF_CPP_MIN_LOG_LEVEL=2` is the documented switch, so it is set
before any TensorFlow import unless the user set it. On TensorFlow 2.2x those lines are written by
absl before TensorFlow reads the variable, so while the level asks for quiet (2 or more) the import
itself (and the device discovery right after it, where a CUDA build on a machine without a GPU
logs "failed call to cuInit") runs with the process's stderr (fd 2) pointed at /dev/null, and TensorFlow's Python logger
is set to ERROR unless the user configured it. A user who sets `TF_CPP_MIN_LOG_LEVEL=0` sees everything.
Errors are not lost: an import that fails raises after stderr is back.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from types import ModuleType

LEVEL_VAR = "TF_CPP_MIN_LOG_LEVEL"
QUIET_LEVEL = "2"  # hide INFO and WARNING, keep errors


def wants_quiet() -> bool:
    try:
        return int(os.environ.get(LEVEL_VAR, QUIET_LEVEL)) >= int(QUIET_LEVEL)
    except ValueError:
        return True


@contextlib.contextmanager
def stderr_to_devnull() -> Iterator[None]:
    """fd 2 (what C++ code writes to) to /dev/null for the block, then back."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of `tensorflow` with stderr silenced."""

    def __init__(self, inner: importlib.abc.Loader):
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with stderr_to_devnull():
            self.inner.exec_module(module)  # type: ignore[attr-defined]
            # The devices are found at the first op; a CUDA build without a GPU then logs "failed
            # call to cuInit" at ERROR level (not a fault: TensorFlow runs on the CPU). Find them now.
            with contextlib.suppress(Exception):
                module.config.list_physical_devices()
        module.__loader__ = self.inner
        if module.__spec__ is not None:
            module.__spec__.loader = self.inner
        tf_logger = logging.getLogger("tensorflow")
        if tf_logger.level == logging.NOTSET:
            tf_logger.setLevel(logging.ERROR)
        with contextlib.suppress(ImportError):
            from absl import logging as absl_logging

            if absl_logging.get_verbosity() < absl_logging.ERROR:
                absl_logging.set_verbosity(absl_logging.ERROR)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` like the normal path finder, wrapping its loader once quiet is wanted."""

    def find_spec(self, name, path, target=None):  # type: ignore[no-untyped-def]
        if name != "tensorflow" or not wants_quiet():
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


_FINDER = _QuietTensorFlowFinder()


def install() -> None:
    """Called by `import adgen`, before anything in the project can import TensorFlow."""
    os.environ.setdefault(LEVEL_VAR, QUIET_LEVEL)
    if wants_quiet():  # tensorflow_hub's import-time notice about setuptools, not ours to act on
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    if _FINDER not in sys.meta_path and "tensorflow" not in sys.modules:
        sys.meta_path.insert(0, _FINDER)
