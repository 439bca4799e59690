"""What the DVC DAG (dvc.yaml) holds right now: the orchestration layers run exactly its stages."""

from __future__ import annotations

from pathlib import Path

import yaml

# The dataset part of the pipeline, in order; a refresh reproduces those present in dvc.yaml.
DATASET_STAGES = ("crawl", "filter", "strip", "pose", "build_datasets")
# dvc.yaml annotation of outputs that summarise a stage rather than hold its data
SUMMARY = "summary"


def models() -> tuple[str, ...]:
    """The declared models (adgen/models/<name>/spec.py); each has a `train_<name>` stage."""
    from adgen.models.registry import models as declared

    return tuple(declared())


def __getattr__(name: str):
    if name == "MODELS":  # the declared models, looked up when first asked for
        return models()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def stages(root: Path) -> list[str]:
    """Stage names in `<root>/dvc.yaml`, in file order (empty when there is no dvc.yaml)."""
    path = Path(root) / "dvc.yaml"
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text()) or {}
    return list((data.get("stages") or {}).keys())


def dataset_stages(root: Path) -> list[str]:
    present = set(stages(root))
    return [s for s in DATASET_STAGES if s in present]


def training_stage(model: str) -> str:
    if model not in models():
        from adgen.errors import UserError

        raise UserError(f"model {model!r}: expected one of {', '.join(models())}")
    return f"train_{model}"


def _stage_defs(root: Path) -> dict:
    path = Path(root) / "dvc.yaml"
    if not path.exists():
        return {}
    return (yaml.safe_load(path.read_text()) or {}).get("stages") or {}


def data_outs(root: Path, stages: list[str]) -> dict[str, list[str]]:
    """The data outputs of each stage: `outs` that are neither git-tracked (`cache: false`) nor
    marked `type: summary` (stats, contact sheets, reports: cached so a clone can pull them, but
    they may change on a rerun that brought nothing new); not metrics or plots.

    These name a dataset version.
    """
    defs = _stage_defs(root)
    out: dict[str, list[str]] = {}
    for stage in stages:
        paths = []
        for entry in (defs.get(stage) or {}).get("outs") or []:
            if isinstance(entry, str):
                paths.append(entry)
            elif isinstance(entry, dict):
                for p, opts in entry.items():
                    summary = isinstance(opts, dict) and (
                        opts.get("cache") is False or opts.get("type") == SUMMARY
                    )
                    if not summary:
                        paths.append(p)
        out[stage] = paths
    return out


def version_stages(root: Path) -> list[str]:
    """The stages whose data defines a dataset version: those after the crawl (whose rejects and
    stats change on every run), or the crawl alone while it is the only dataset stage."""
    present = dataset_stages(root)
    after_crawl = [s for s in present if s != "crawl"]
    return after_crawl or present


def missing_deps(root: Path, stage: str) -> list[str]:
    """The path dependencies of `stage` that this checkout lacks (e.g. a model trained on another
    machine and not pulled): `dvc repro --single-item` of it would fail on them."""
    deps = (_stage_defs(root).get(stage) or {}).get("deps") or []
    names = [d if isinstance(d, str) else next(iter(d)) for d in deps if isinstance(d, str | dict)]
    return [name for name in names if not (Path(root) / name).exists()]


def ran_stages(dvc_output: str) -> list[str]:
    """The stages a `dvc repro` output says it ran, in order."""
    import re

    return list(dict.fromkeys(re.findall(r"Running stage '([^']+)'", dvc_output)))
