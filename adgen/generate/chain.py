"""The ad chain: a new person in the requested pose, then the bag placed on them (ST-GAN).

Two ways to make the person (the product compared both):
- approach 1: a new person (StyleGAN2) → re-posed to the requested pose (GFLA);
- approach 2: a new person drawn straight into the requested pose (DPIG: noise → appearance
  mapper → pose-conditioned decoder);
- `best`: both for every seed; the ad keeps the person whose estimated pose is closest to the
  requested one (lowest pose-keypoint MSE, the product's "cherry-pick the best of both"), and
  records which approach it came from. Both chains are written and shown side by side.

Plain functions over loaded models and files: `load_chain` finds and loads the checkpoints the
approach needs and the pose estimator, `generate_ads` makes one ad per seed and writes every
intermediate image, and the pose error of each output against the requested pose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from adgen import atomic
from adgen.errors import UserError
from adgen.metrics.pose import pose_mse
from adgen.models.sampling import reproducible_kernels
from adgen.pose.contract import draw_pose, fit_into_frame
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


APPROACHES = ("1", "2", "best")
APPROACH_NAMES = {"1": "StyleGAN2 → GFLA → ST-GAN", "2": "DPIG → ST-GAN"}


def check_approach(approach: str | int) -> str:
    approach = str(approach)
    if approach not in APPROACHES:
        raise UserError(f"--approach {approach!r}: choose 1 (StyleGAN2 → GFLA), 2 (DPIG) or best")
    return approach


@dataclass
class ChainModels:
    sampler: Any  # adgen.models.stylegan2.api.StyleGAN2Sampler (approach 1), else None
    transfer: Any  # adgen.models.gfla.api.PoseTransfer (approach 1), else None
    compositor: Any  # adgen.models.stgan.api.Compositor or adgen.models.sfgan.api's (same interface)
    estimator: Any  # adgen.pose.estimate.PoseEstimator
    checkpoints: dict[str, str] = field(default_factory=dict)
    dpig: Any = None  # adgen.models.dpig.api.DpigSampler (approach 2), else None
    approach: str = "1"

    @property
    def person_size(self) -> tuple[int, int]:
        """(width, height) of a new person (approach 1's when both are loaded)."""
        h, w = (self.sampler or self.dpig).resolution
        return w, h

    def person_sizes(self) -> dict[str, tuple[int, int]]:
        """(width, height) of each loaded approach's people."""
        sizes = {}
        for name, model in (("1", self.sampler), ("2", self.dpig)):
            if model is not None:
                h, w = model.resolution
                sizes[name] = (w, h)
        return sizes


def load_estimator(params) -> Any:
    from adgen.pose.estimate import load_pose_estimator

    model = params.generate.pose_model or params.pose.model
    model_path = params.path(model) if not str(model).startswith(("http://", "https://", "gs://")) else model
    return load_pose_estimator(model_path, params.pose.input_size, params.pose.min_score)


COMPOSITORS = ("stgan", "sfgan")


def models_for(approach: str, compositor: str = "stgan") -> tuple[str, ...]:
    """The checkpoints an approach needs, in the order they run (the compositor last)."""
    if compositor not in COMPOSITORS:
        raise UserError(f"--compositor {compositor!r}: choose stgan (placement) or sfgan (placement + light)")
    people = {"1": ("stylegan2", "gfla"), "2": ("dpig",), "best": ("stylegan2", "gfla", "dpig")}
    return (*people[check_approach(approach)], compositor)


def load_chain(params, approach: str | None = None, compositor: str | None = None) -> ChainModels:
    """The models the approach needs, named in generate.* (or the newest runs), and the pose estimator."""
    g = params.generate
    approach = check_approach(approach if approach is not None else getattr(g, "approach", "1"))
    compositor = compositor or g.compositor
    models_root = params.path(params.paths.models)
    paths = {}
    for name in models_for(approach, compositor):  # every checkpoint is found before any model is loaded
        explicit = getattr(g, f"{name}_checkpoint", None)
        paths[name] = resolve_checkpoint(params.path(explicit) if explicit else None, models_root, name)
    sampler = transfer = dpig = None
    if "stylegan2" in paths:
        from adgen.models.gfla.api import load_pose_transfer
        from adgen.models.stylegan2.api import load_sampler

        sampler = load_sampler(paths["stylegan2"], g.device)
        transfer = load_pose_transfer(paths["gfla"], g.device)
    if "dpig" in paths:
        from adgen.models.dpig.api import load_sampler as load_dpig

        dpig = load_dpig(paths["dpig"], g.device)
    if compositor == "sfgan":
        from adgen.models.sfgan.api import load_compositor
    else:
        from adgen.models.stgan.api import load_compositor

    return ChainModels(
        sampler=sampler,
        transfer=transfer,
        compositor=load_compositor(paths[compositor], g.device),
        estimator=load_estimator(params),
        checkpoints={k: str(v) for k, v in paths.items()},
        dpig=dpig,
        approach=approach,
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
    approach: str = "1"  # which chain made the person: "1" (StyleGAN2 → GFLA) or "2" (DPIG)
    candidates: list[dict[str, Any]] = field(default_factory=list)  # best: every approach's chain


def _finite(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _save(img: Image.Image, path: Path) -> None:
    with atomic.atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


def _person_1(models: ChainModels, requested: np.ndarray, seed: int, truncation: float):
    """StyleGAN2's new person re-posed by GFLA: (images to save, person, its pose, re-posed person)."""
    person = models.sampler.sample([seed], truncation)[0].convert("RGB")
    person_kp = models.estimator.estimate(person)
    reposed = models.transfer.transfer(person, person_kp, requested)
    steps = [
        ("1 person (StyleGAN2)", "person.png", person),
        ("2 person's own pose", "person_pose.png", draw_pose(person_kp, person.size, person)),
        ("3 requested pose", "requested_pose.png", draw_pose(requested, person.size)),
        ("4 re-posed (GFLA)", "reposed.png", reposed),
    ]
    return steps, person, person_kp, reposed


def _person_2(models: ChainModels, requested: np.ndarray, seed: int):
    """DPIG's new person, drawn straight into the requested pose."""
    person = models.dpig.sample(requested, [seed])[0].convert("RGB")
    steps = [
        ("1 requested pose", "requested_pose.png", draw_pose(requested, person.size)),
        ("2 new person in the pose (DPIG)", "person.png", person),
    ]
    return steps, person, None, person


@reproducible_kernels()  # the sampling promise, for every step of the chain
def _one_chain(
    models: ChainModels,
    approach: str,
    requested: np.ndarray,
    bag: Image.Image,
    seed: int,
    out_dir: Path,
    folder: Path,
    truncation: float,
    bag_seed: bool,
) -> tuple[Ad, Image.Image]:
    """One approach's chain for one seed, every step saved under `folder`; returns the ad and the person.
    One seed at a time through every step, with cuDNN deterministic: a seed's ad is bit-identical
    whatever other seeds the run makes (adgen.models.sampling)."""
    if approach == "1":
        steps, person, person_kp, posed = _person_1(models, requested, seed, truncation)
    else:
        steps, person, person_kp, posed = _person_2(models, requested, seed)
    posed_kp = models.estimator.estimate(posed)
    if person_kp is None:
        person_kp = posed_kp
    result = models.compositor.composite(posed, bag, seed if bag_seed else None)
    ad_kp = models.estimator.estimate(result.image)
    ad_requested = fit_into_frame(requested, person.size, result.image.size)
    files = {}
    for label, name, img in steps:
        _save(img, folder / name)
        files[label] = name
    n = len(files) + 1
    for i, step in enumerate(result.per_warp):
        name = f"warp-{i}.png"
        _save(step, folder / name)
        files[f"{n} bag, warp {i} (ST-GAN)" if i else f"{n} bag at its start (ST-GAN)"] = name
    _save(result.image, folder / "ad.png")
    files[f"{n + 1} the ad"] = "ad.png"
    rel = folder.relative_to(out_dir).as_posix()
    ad = Ad(
        seed=seed,
        folder=rel,
        files={k: f"{rel}/{v}" for k, v in files.items()},
        requested=np.asarray(requested).tolist(),
        person_pose=np.asarray(person_kp).tolist(),
        reposed_pose=np.asarray(posed_kp).tolist(),
        ad_pose=np.asarray(ad_kp).tolist(),
        pose_mse_reposed=_finite(pose_mse(requested, posed_kp)),
        pose_mse_ad=_finite(pose_mse(ad_requested, ad_kp)),
        warp_params=result.params,
        approach=approach,
    )
    return ad, person


def pick_best(candidates: list[Ad], favoured: str | None = None) -> Ad:
    """The candidate whose person is closest to the requested pose (lowest pose MSE; a pose the
    estimator could not find counts as worst). A tie goes to the approach the comparison favours
    (`adgen evaluate compare`, see adgen.compare.best), else to the earlier approach."""
    return min(
        candidates,
        key=lambda a: (np.inf if a.pose_mse_reposed is None else a.pose_mse_reposed, a.approach != favoured),
    )


def generate_ads(
    models: ChainModels,
    requested: np.ndarray | dict[str, np.ndarray],
    bag: Image.Image,
    seeds: list[int],
    out_dir: Path,
    truncation: float = 0.7,
    bag_seed: bool = True,
    favoured: str | None = None,
) -> tuple[list[Ad], list[Image.Image]]:
    """One ad per seed under out_dir/seed-<s>/; returns the ads and the people they show (for IS).

    `requested` is the pose, or one per approach ({"1": …, "2": …}) when their frames differ. With
    `best`, each approach's chain goes to seed-<s>/approach-<a>/ and the ad is the better one
    (`favoured`: the approach the comparison scored better, which wins a tie).
    """
    from adgen.progress import track

    out_dir = Path(out_dir)
    wanted = requested if isinstance(requested, dict) else {"1": requested, "2": requested}
    ads, people = [], []
    for seed in track(seeds, "generating ads"):
        folder = out_dir / f"seed-{seed}"
        if models.approach in ("1", "2"):
            a = models.approach
            ad, person = _one_chain(models, a, wanted[a], bag, seed, out_dir, folder, truncation, bag_seed)
        else:
            made = [
                _one_chain(
                    models, a, wanted[a], bag, seed, out_dir, folder / f"approach-{a}", truncation, bag_seed
                )
                for a in ("1", "2")
            ]
            ad, person = made[[m[0] for m in made].index(pick_best([m[0] for m in made], favoured))]
            ad = Ad(**{**ad.__dict__, "candidates": [m[0].__dict__ for m in made]})
        atomic.write_json(folder / "ad.json", ad.__dict__)
        ads.append(ad)
        people.append(person)
    return ads, people


def summarise(ads: list[Ad], checkpoints: dict[str, str], inception: dict[str, Any]) -> dict[str, Any]:
    """The run's metrics (DVC metrics JSON): mean pose MSE over ads where the pose was found, IS."""

    def mean(values: list[float | None]) -> float | None:
        got = [v for v in values if v is not None]
        return float(np.mean(got)) if got else None

    out: dict[str, Any] = {
        "ads": len(ads),
        "pose_mse_reposed": mean([a.pose_mse_reposed for a in ads]),
        "pose_mse_ad": mean([a.pose_mse_ad for a in ads]),
        "pose_found_reposed": sum(a.pose_mse_reposed is not None for a in ads),
        "pose_found_ad": sum(a.pose_mse_ad is not None for a in ads),
    }
    if any(a.candidates for a in ads):  # best: where the ads came from, and each approach on its own
        for name in ("1", "2"):
            out[f"ads_from_approach_{name}"] = sum(a.approach == name for a in ads)
            out[f"pose_mse_reposed_approach_{name}"] = mean(
                [c["pose_mse_reposed"] for a in ads for c in a.candidates if c["approach"] == name]
            )
    return {**out, **inception, "checkpoints": checkpoints}
