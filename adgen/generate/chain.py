"""The ad chain: a new person (StyleGAN2) → re-posed to the requested pose (GFLA) → bag placed (ST-GAN).

Plain functions over loaded models and files: `load_chain` finds and loads the three checkpoints and
the pose estimator, `generate_ads` makes one ad per seed and writes every intermediate image, and the
pose error of each output against the requested pose (the product's pose-keypoint MSE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from adgen import atomic
from adgen.errors import UserError
from adgen.generate.poses import draw_pose, fit_into_frame
from adgen.metrics.pose import pose_mse
from adgen.training import checkpoint as ckpt
from adgen.training import rundir


def newest_run_checkpoint(models_root: Path, model: str) -> Path:
    """The checkpoint of the run under <models_root>/<model> trained most recently (numbered or DVC's)."""
    root = Path(models_root) / model
    run = rundir.newest_run(root)
    if run is None:
        raise UserError(
            f"no trained {model} under {root}: train one with `adgen train {model}` or set generate.{model}_checkpoint"
        )
    return resolve_checkpoint(run, models_root, model)


def resolve_checkpoint(explicit: Path | None, models_root: Path, model: str) -> Path:
    """generate.<model>_checkpoint as a file, a run dir (its newest checkpoint), or else the newest run."""
    if explicit is None:
        return newest_run_checkpoint(models_root, model)
    path = Path(explicit)
    if path.is_dir():
        found = ckpt.newest_valid_path(path, f"{model} checkpoint")
        if found is None and model == "stgan" and any(path.glob("warp-*.pt")):
            return path  # ST-GAN's loader picks the final warp's checkpoint in a run dir
        if found is None:
            raise UserError(f"generate.{model}_checkpoint: no checkpoint in {path}")
        return found
    if not path.is_file():
        raise UserError(f"generate.{model}_checkpoint: {path} not found")
    return path


@dataclass
class ChainModels:
    sampler: Any  # adgen.models.stylegan2.api.StyleGAN2Sampler
    transfer: Any  # adgen.models.gfla.api.PoseTransfer
    compositor: Any  # adgen.models.stgan.api.Compositor
    estimator: Any  # adgen.pose.estimate.PoseEstimator
    checkpoints: dict[str, str] = field(default_factory=dict)

    @property
    def person_size(self) -> tuple[int, int]:
        """(width, height) of a sampled person."""
        h, w = self.sampler.resolution
        return w, h


def load_estimator(params) -> Any:
    from adgen.pose.estimate import load_pose_estimator

    model = params.generate.pose_model or params.pose.model
    model_path = params.path(model) if not str(model).startswith(("http://", "https://", "gs://")) else model
    return load_pose_estimator(model_path, params.pose.input_size, params.pose.min_score)


def load_chain(params) -> ChainModels:
    """The three models named in generate.* (or the newest runs) and the pose estimator."""
    from adgen.models.gfla.api import load_pose_transfer
    from adgen.models.stgan.api import load_compositor
    from adgen.models.stylegan2.api import load_sampler

    g = params.generate
    models_root = params.path(params.paths.models)
    paths = {
        name: resolve_checkpoint(params.path(explicit) if explicit else None, models_root, name)
        for name, explicit in (
            ("stylegan2", g.stylegan2_checkpoint),
            ("gfla", g.gfla_checkpoint),
            ("stgan", g.stgan_checkpoint),
        )
    }
    return ChainModels(
        sampler=load_sampler(paths["stylegan2"], g.device),
        transfer=load_pose_transfer(paths["gfla"], g.device),
        compositor=load_compositor(paths["stgan"], g.device),
        estimator=load_estimator(params),
        checkpoints={k: str(v) for k, v in paths.items()},
    )


@dataclass
class Ad:
    seed: int
    folder: str  # relative to the output dir
    files: dict[str, str]  # step name → file relative to the output dir
    requested: list[list[float]]
    person_pose: list[list[float]]
    reposed_pose: list[list[float]]
    ad_pose: list[list[float]]
    pose_mse_reposed: float | None
    pose_mse_ad: float | None
    warp_params: list[list[float]]


def _finite(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _save(img: Image.Image, path: Path) -> None:
    with atomic.atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


def generate_ads(
    models: ChainModels,
    requested: np.ndarray,
    bag: Image.Image,
    seeds: list[int],
    out_dir: Path,
    truncation: float = 0.7,
    bag_seed: bool = True,
) -> tuple[list[Ad], list[Image.Image]]:
    """One ad per seed under out_dir/seed-<s>/; returns the ads and the sampled people (for IS)."""
    from adgen.progress import track

    out_dir = Path(out_dir)
    person_size = models.person_size
    ads, people = [], []
    for seed in track(seeds, "generating ads"):
        folder = out_dir / f"seed-{seed}"
        person = models.sampler.sample([seed], truncation)[0].convert("RGB")
        people.append(person)
        person_kp = models.estimator.estimate(person)
        reposed = models.transfer.transfer(person, person_kp, requested)
        reposed_kp = models.estimator.estimate(reposed)
        result = models.compositor.composite(reposed, bag, seed if bag_seed else None)
        ad_kp = models.estimator.estimate(result.image)
        ad_requested = fit_into_frame(requested, person_size, result.image.size)

        files = {
            "1 person (StyleGAN2)": "person.png",
            "2 person's own pose": "person_pose.png",
            "3 requested pose": "requested_pose.png",
            "4 re-posed (GFLA)": "reposed.png",
        }
        _save(person, folder / "person.png")
        _save(draw_pose(person_kp, person.size, person), folder / "person_pose.png")
        _save(draw_pose(requested, person.size), folder / "requested_pose.png")
        _save(reposed, folder / "reposed.png")
        for i, step in enumerate(result.per_warp):
            name = f"warp-{i}.png"
            _save(step, folder / name)
            files[f"5 bag, warp {i} (ST-GAN)" if i else "5 bag at its start (ST-GAN)"] = name
        _save(result.image, folder / "ad.png")
        files["6 the ad"] = "ad.png"
        rel = folder.relative_to(out_dir).as_posix()
        ad = Ad(
            seed=seed,
            folder=rel,
            files={k: f"{rel}/{v}" for k, v in files.items()},
            requested=np.asarray(requested).tolist(),
            person_pose=np.asarray(person_kp).tolist(),
            reposed_pose=np.asarray(reposed_kp).tolist(),
            ad_pose=np.asarray(ad_kp).tolist(),
            pose_mse_reposed=_finite(pose_mse(requested, reposed_kp)),
            pose_mse_ad=_finite(pose_mse(ad_requested, ad_kp)),
            warp_params=result.params,
        )
        atomic.write_json(folder / "ad.json", ad.__dict__)
        ads.append(ad)
    return ads, people


def summarise(ads: list[Ad], checkpoints: dict[str, str], inception: dict[str, Any]) -> dict[str, Any]:
    """The run's metrics (DVC metrics JSON): mean pose MSE over ads where the pose was found, IS."""

    def mean(values: list[float | None]) -> float | None:
        got = [v for v in values if v is not None]
        return float(np.mean(got)) if got else None

    return {
        "ads": len(ads),
        "pose_mse_reposed": mean([a.pose_mse_reposed for a in ads]),
        "pose_mse_ad": mean([a.pose_mse_ad for a in ads]),
        "pose_found_reposed": sum(a.pose_mse_reposed is not None for a in ads),
        "pose_found_ad": sum(a.pose_mse_ad is not None for a in ads),
        **inception,
        "checkpoints": checkpoints,
    }
