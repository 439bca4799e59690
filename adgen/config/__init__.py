"""params.yaml, loaded once into typed sections.

Every `adgen` command reads `params.yaml` from the current directory (the DVC convention) or the
file given by `--params`. A wrong key or value fails with one line naming it, e.g.
`params.yaml: crawl.max_imgs: unknown key (check the spelling; see params.yaml in the repo)`.
Relative paths in the file are relative to the directory holding it (the project root).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from adgen.config.base import Section
from adgen.config.crawl import CrawlParams
from adgen.config.detect import DetectParams
from adgen.config.fixture_site import FixtureSiteParams
from adgen.config.models import GflaParams, StganParams, StyleGAN2Params
from adgen.config.orchestrate import OrchestrateParams
from adgen.config.prepare import DatasetsParams, PoseParams, StripParams
from adgen.config.quality import GenerateParams, MetricsParams, ReportParams
from adgen.config.store import StoreParams
from adgen.errors import UserError


class PathsParams(Section):
    """Where each stage writes; all relative to the project root."""

    raw: Path = Path("data/raw")
    filtered: Path = Path("data/filtered")
    stripped: Path = Path("data/stripped")
    pose: Path = Path("data/pose")
    datasets: Path = Path("data/datasets")
    models: Path = Path("data/models")
    metrics: Path = Path("data/metrics")
    fixtures: Path = Path("data/fixtures")
    report: Path = Path("report")


class TrainParams(Section):
    stgan: StganParams = Field(default_factory=StganParams)
    stylegan2: StyleGAN2Params = Field(default_factory=StyleGAN2Params)
    gfla: GflaParams = Field(default_factory=GflaParams)


class Params(Section):
    paths: PathsParams = Field(default_factory=PathsParams)
    store: StoreParams = Field(default_factory=StoreParams)
    crawl: CrawlParams = Field(default_factory=CrawlParams)
    fixture_site: FixtureSiteParams = Field(default_factory=FixtureSiteParams)
    detect: DetectParams = Field(default_factory=DetectParams)
    strip: StripParams = Field(default_factory=StripParams)
    pose: PoseParams = Field(default_factory=PoseParams)
    datasets: DatasetsParams = Field(default_factory=DatasetsParams)
    train: TrainParams = Field(default_factory=TrainParams)
    metrics: MetricsParams = Field(default_factory=MetricsParams)
    generate: GenerateParams = Field(default_factory=GenerateParams)
    orchestrate: OrchestrateParams = Field(default_factory=OrchestrateParams)
    report: ReportParams = Field(default_factory=ReportParams)

    # Not a key of the file: the directory holding it, set by `load`.
    _root: Path = Path(".")

    @property
    def root(self) -> Path:
        return self._root

    def path(self, p: str | Path) -> Path:
        """Resolve a params path against the project root."""
        p = Path(p)
        return p if p.is_absolute() else self._root / p


def _describe(err: dict[str, Any]) -> str:
    where = ".".join(str(x) for x in err["loc"]) or "<top>"
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown key (check the spelling against params.yaml in the repository)"
    value = err.get("input")
    shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
    return f"{where}: {err['msg']}{shown}"


def from_dict(data: dict[str, Any], source: str = "params", root: Path | None = None) -> Params:
    try:
        params = Params.model_validate(data or {})
    except ValidationError as exc:
        errs = exc.errors()
        more = f" (+{len(errs) - 1} more)" if len(errs) > 1 else ""
        raise UserError(f"{source}: {_describe(errs[0])}{more}") from None
    params._root = (root or Path(".")).resolve()
    return params


def read_yaml(text: str):
    """Parse params YAML the way DVC does (YAML 1.2, ruamel), so `adgen` and `dvc exp run -S` agree.

    PyYAML speaks YAML 1.1, where an unquoted `2:1` (as DVC writes "2:1" back after `-S`) is the
    base-60 integer 121.
    """
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(text)


def load(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{path}: params file not found; run adgen from the project root or pass --params PATH"
        )
    from ruamel.yaml import YAMLError

    try:
        data = read_yaml(path.read_text()) or {}
    except (yaml.YAMLError, YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise UserError(f"{path}: not valid YAML{at}; fix the file") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of sections at the top level")
    return from_dict(data, source=str(path), root=path.parent)
