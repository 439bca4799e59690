"""What the DVC DAG (dvc.yaml) holds right now: the orchestration layers run exactly its stages."""

from __future__ import annotations

from pathlib import Path

import yaml

# The dataset part of the pipeline, in order; a refresh reproduces those present in dvc.yaml.
DATASET_STAGES = ("crawl", "filter", "strip", "pose", "build_datasets")
MODELS = ("stgan", "stylegan2", "gfla")


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
    if model not in MODELS:
        from adgen.errors import UserError

        raise UserError(f"model {model!r}: expected one of {', '.join(MODELS)}")
    return f"train_{model}"
