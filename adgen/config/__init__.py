"""params.yaml, loaded once into typed sections.

Every `adgen` command reads `params.yaml` from the current directory (the DVC convention) or the
file given by `--params`. A wrong key or value fails with one line naming it, e.g.
`params.yaml: crawl.max_imgs: unknown key (check the spelling; see params.yaml in the repo)`.
Relative paths in the file are relative to the directory holding it (the project root).

The core knows no model: the `train.<name>` sections are declared by the models themselves
(adgen/models/<name>/spec.py) and plugged in by the composition root (adgen/__init__.py) through
`extend`, so adding a model touches no file here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from adgen import safe_files
from adgen.config.base import Section
from adgen.config.compare import CompareParams
from adgen.config.crawl import CrawlParams
from adgen.config.detect import DetectParams
from adgen.config.fixture_site import FixtureSiteParams
from adgen.config.orchestrate import OrchestrateParams
from adgen.config.prepare import DatasetsParams, PoseParams, StripParams
from adgen.config.quality import GenerateParams, MetricsParams, ReportParams
from adgen.config.review import ReviewParams
from adgen.config.store import StoreParams
from adgen.errors import UserError
from adgen.safe_files import shown


class PathsParams(Section):
    """Where each stage writes; all relative to the project root."""

    raw: Path = Path("data/raw")
    filtered: Path = Path("data/filtered")
    stripped: Path = Path("data/stripped")
    pose: Path = Path("data/pose")
    datasets: Path = Path("data/datasets")
    models: Path = Path("data/models")
    metrics: Path = Path("metrics")  # small numbers-only JSON + loss CSVs, tracked by git (DVC metrics)
    fixtures: Path = Path("data/fixtures")
    report: Path = Path("report")


class Params(Section):
    """The core sections. The loaded params are an instance of `params_type()`, this class extended
    by the sections declared above the core (`train`, one `train.<name>` per model)."""

    paths: PathsParams = Field(default_factory=PathsParams)
    store: StoreParams = Field(default_factory=StoreParams)
    crawl: CrawlParams = Field(default_factory=CrawlParams)
    fixture_site: FixtureSiteParams = Field(default_factory=FixtureSiteParams)
    detect: DetectParams = Field(default_factory=DetectParams)
    strip: StripParams = Field(default_factory=StripParams)
    pose: PoseParams = Field(default_factory=PoseParams)
    datasets: DatasetsParams = Field(default_factory=DatasetsParams)
    metrics: MetricsParams = Field(default_factory=MetricsParams)
    generate: GenerateParams = Field(default_factory=GenerateParams)
    compare: CompareParams = Field(default_factory=CompareParams)
    orchestrate: OrchestrateParams = Field(default_factory=OrchestrateParams)
    report: ReportParams = Field(default_factory=ReportParams)
    review: ReviewParams = Field(default_factory=ReviewParams)

    # Not a key of the file: the directory holding it, set by `load`.
    _root: Path = Path(".")

    @property
    def root(self) -> Path:
        return self._root

    def path(self, p: str | Path) -> Path:
        """Resolve a params path against the project root."""
        p = Path(p)
        return p if p.is_absolute() else self._root / p


# Functions base -> subclass of base, applied in order by `params_type` (see `extend`).
_extensions: list[Callable[[type[Params]], type[Params]]] = []
_params_type: type[Params] | None = None


def extend(extension: Callable[[type[Params]], type[Params]]) -> None:
    """Plug in sections declared above the core: `extension(base)` returns a subclass of `base` with
    more fields (and checks). Called once, by the composition root (adgen/__init__.py)."""
    global _params_type
    _extensions.append(extension)
    _params_type = None


def params_type() -> type[Params]:
    """The whole Params class: the core sections extended by every plugged-in extension."""
    global _params_type
    if _params_type is None:
        cls = Params
        for extension in _extensions:
            cls = extension(cls)
        _params_type = cls
    return _params_type


def _describe(err: dict[str, Any]) -> str:
    if not err["loc"] and err["type"] == "value_error":  # a whole-file check names its own keys
        return str(err["ctx"]["error"])
    where = ".".join(str(x) for x in err["loc"]) or "<top>"
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown key (check the spelling against params.yaml in the repository)"
    value = err.get("input")
    got = "" if isinstance(value, dict | list) else f" (got {shown(value)})"  # cut before formatting
    return f"{where}: {err['msg']}{got}"


def from_dict(data: dict[str, Any], source: str = "params", root: Path | None = None) -> Params:
    try:
        params = params_type().model_validate(data or {})
    except ValidationError as exc:
        errs = exc.errors()
        more = f" (+{len(errs) - 1} more)" if len(errs) > 1 else ""
        raise UserError(f"{source}: {_describe(errs[0])}{more}") from None
    params._root = (root or Path(".")).resolve()
    return params


def read_yaml(text: str | bytes, source: str = "params"):
    """Parse params YAML the way DVC does (YAML 1.2, ruamel), so `adgen` and `dvc exp run -S` agree,
    through the user-file limits of `adgen.safe_files` (size, depth, no aliases).

    PyYAML speaks YAML 1.1, where an unquoted `2:1` (as DVC writes "2:1" back after `-S`) is the
    base-60 integer 121.
    """
    return safe_files.read_yaml(text, source)


def load(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{path}: params file not found; run adgen from the project root or pass --params PATH"
        )
    size = path.stat().st_size
    if size > safe_files.MAX_BYTES:  # before reading it into memory
        raise UserError(f"{path}: {size} bytes, over the {safe_files.MAX_BYTES}-byte limit for params")
    data = read_yaml(path.read_bytes(), str(path)) or {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of sections at the top level")
    return from_dict(data, source=str(path), root=path.parent)
