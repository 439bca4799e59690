"""The ad chain: a new person in the requested pose, then the bag placed on them (a compositor).

The ways to make the person are the chains the model declarations make (adgen.models.roles,
`registry.chains()`; the product compared the first two):
- a people generator's new person re-posed by a pose transfer (approach 1: StyleGAN2 → GFLA; every
  other people generator × pose transfer pair too, e.g. `dcgan-pidm`, chosen by id or by
  `--people` / `--pose-transfer`);
- a new person drawn straight into the requested pose by a pose-controlled generator (approach 2:
  DPIG, noise → appearance mapper → pose-conditioned decoder);
- `best`: every chain whose models are trained, for every seed; the ad keeps the person whose
  estimated pose is closest to the requested one (lowest pose-keypoint MSE, the product's
  "cherry-pick the best of both"), and records which approach it came from. The chains are written
  and shown side by side; an approach with an untrained model is skipped and named (a newly declared
  model must not break `best` for a user who has not trained it).

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
from adgen.config.quality import GenerateParams
from adgen.errors import UserError
from adgen.metrics.pose import pose_mse
from adgen.models.registry import (
    Approach,
    ModelSpec,
    chain_id,
    chains,
    checkpoint_of,
    models,
    with_role,
)
from adgen.models.roles import Compositor, PeopleGenerator, PoseTransfer
from adgen.models.sampling import reproducible_kernels
from adgen.pose.contract import draw_pose, fit_into_frame


def check_approach(approach: str | int) -> str:
    approach = str(approach)
    declared = chains()
    if approach not in (*declared, "best"):
        choices = ", ".join(f"{a} ({chain.label})" for a, chain in declared.items())
        raise UserError(f"--approach {approach!r}: choose {choices} or best")
    return approach


def _check_role(option: str, name: str, role: type) -> ModelSpec:
    declared = with_role(role)
    if name not in declared:
        choices = ", ".join(f"{n} ({spec.label})" for n, spec in declared.items())
        raise UserError(f"{option} {name!r}: choose {choices}")
    return declared[name]


def resolve_approach(approach: str | None, people: str | None, transfer: str | None, default: str) -> str:
    """The chain id `adgen generate` runs. Without --people / --pose-transfer: `approach` (default
    `default`, generate.approach). With them, the chain they name: the declared approach making
    that pair (`--people stylegan2 --pose-transfer pidm` is "3"), else the combined chain
    (`dcgan-pidm`). One left out comes from an explicit `--approach` (a people generator → pose
    transfer chain; with a pose-controlled one or best it is an error), else from the declarations:
    the people a transfer's own approach re-poses (`people_from`), the transfer of generate.approach
    (or of the first declared approach with one)."""
    if people is None and transfer is None:
        return check_approach(default if approach is None else approach)
    people_spec = _check_role("--people", people, PeopleGenerator) if people is not None else None
    transfer_spec = _check_role("--pose-transfer", transfer, PoseTransfer) if transfer is not None else None
    base = chains().get(check_approach(default if approach is None else approach))  # None: best
    if base is None or base.pose_controlled:
        if approach is not None:
            given = [o for o, v in (("--people", people), ("--pose-transfer", transfer)) if v is not None]
            what = "runs every chain" if base is None else f"is {base.label} alone (pose-controlled)"
            picks = "pick" if len(given) > 1 else "picks"
            raise UserError(
                f"--approach {approach} {what}, but {' and '.join(given)} {picks} a people generator → "
                "pose transfer chain; give one or the other"
            )
        base = next((a for a in chains().values() if not a.pose_controlled), None)
    if people_spec is None:
        people_spec = models()[transfer_spec.role.people_from] if approach is None else base.chain[0]
    if transfer_spec is None:
        transfer_spec = base.chain[1]
    return chain_id(people_spec, transfer_spec)


DEFAULT_COMPOSITOR = GenerateParams.model_fields["compositor"].default


def check_compositor(compositor: str) -> ModelSpec:
    declared = with_role(Compositor)
    if compositor not in declared:
        shown = sorted(declared, key=lambda name: name != DEFAULT_COMPOSITOR)  # the default first
        choices = " or ".join(f"{name} ({declared[name].role.does})" for name in shown)
        raise UserError(f"--compositor {compositor!r}: choose {choices}")
    return declared[compositor]


def approach_names(compositor: str | None = None) -> dict[str, str]:
    """Each approach's chain in words ("StyleGAN2 → GFLA → ST-GAN"), with the compositor when named."""
    tail = f" → {models()[compositor].label}" if compositor in models() else ""
    return {a: chain.label + tail for a, chain in chains().items()}


def describe(approach: str, compositor: str | None = None) -> str:
    """One approach's chain as a sentence: "StyleGAN2 draws a new person, GFLA moves them into the
    requested pose, ST-GAN places the bag." """
    steps = [*chains()[approach].chain, *([models()[compositor]] if compositor in models() else [])]
    return ", ".join(f"{spec.label} {spec.role.step}" for spec in steps) + "."


@dataclass
class PersonChain:
    """One approach, loaded: its models in the order they run (adgen.models.roles' protocols)."""

    approach: Approach
    steps: list[Any]

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of its new people: the first model's frame (a pose transfer keeps it)."""
        h, w = self.steps[0].resolution
        return w, h


@dataclass
class ChainModels:
    chains: dict[str, PersonChain]  # approach id -> its loaded models ("best": every approach)
    compositor: Any  # adgen.models.roles.BagCompositor
    estimator: Any  # adgen.pose.estimate.PoseEstimator
    checkpoints: dict[str, str] = field(default_factory=dict)
    approach: str = "1"
    compositor_label: str = ""
    skipped: dict[str, str] = field(default_factory=dict)  # best: approach id -> why it was left out

    @property
    def person_size(self) -> tuple[int, int]:
        """(width, height) of a new person (the first approach's when several are loaded)."""
        return next(iter(self.chains.values())).size

    def person_sizes(self) -> dict[str, tuple[int, int]]:
        """(width, height) of each loaded approach's people."""
        return {a: chain.size for a, chain in self.chains.items()}


def load_estimator(params) -> Any:
    from adgen.pose.estimate import load_pose_estimator

    model = params.generate.pose_model or params.pose.model
    model_path = params.path(model) if not str(model).startswith(("http://", "https://", "gs://")) else model
    return load_pose_estimator(model_path, params.pose.input_size, params.pose.min_score)


def trained_approaches(params, compositor: str) -> tuple[dict[str, Path], dict[str, str]]:
    """For `best`: the checkpoints of every approach whose models are all trained (and the
    compositor's), and {approach: why it is skipped} for the others. A checkpoint the user named
    (generate.checkpoints) that cannot be found stays an error: only a model nobody trained or named
    skips its approach. One line when no approach is left."""
    configured = params.generate.checkpoints
    paths = {compositor: checkpoint_of(models()[compositor], params)}
    skipped: dict[str, str] = {}
    for a, chain in chains().items():
        found = {}
        for spec in chain.chain:
            try:
                found[spec.name] = paths.get(spec.name) or checkpoint_of(spec, params)
            except UserError as exc:
                if configured.get(spec.name) is not None:
                    raise
                skipped[a] = str(exc)
                break
        else:
            paths.update(found)
    if len(skipped) == len(chains()):
        why = "; ".join(f"approach {a}: {reason}" for a, reason in skipped.items())
        raise UserError(f"--approach best: no approach has all its models trained ({why})")
    return paths, skipped


def load_chain(params, approach: str | None = None, compositor: str | None = None) -> ChainModels:
    """The models the approach needs, named in generate.checkpoints (or the newest runs), and the pose
    estimator. Every checkpoint is found before any model is loaded; `best` loads the approaches
    whose models are trained (`trained_approaches`) and records the others in `skipped`."""
    from adgen.training.dist import resolve_device

    g = params.generate
    approach = check_approach(approach if approach is not None else g.approach)
    compositor = compositor or g.compositor
    check_compositor(compositor)
    skipped: dict[str, str] = {}
    if approach == "best":
        paths, skipped = trained_approaches(params, compositor)
    else:  # the chain's models in the order they run, the compositor last
        names = (*(spec.name for spec in chains()[approach].chain), compositor)
        paths = {name: checkpoint_of(models()[name], params) for name in names}
    device = resolve_device(g.device, "generate.device")
    loaded = {name: models()[name].role.load(path, device) for name, path in paths.items()}
    ids = [a for a in chains() if a not in skipped] if approach == "best" else [approach]
    person_chains = {
        a: PersonChain(chains()[a], [loaded[spec.name] for spec in chains()[a].chain]) for a in ids
    }
    return ChainModels(
        chains=person_chains,
        compositor=loaded[compositor],
        estimator=load_estimator(params),
        checkpoints={k: str(v) for k, v in paths.items()},
        approach=approach,
        compositor_label=models()[compositor].label,
        skipped=skipped,
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
    approach: str = "1"  # which approach made the person ("1": StyleGAN2 → GFLA, "2": DPIG)
    candidates: list[dict[str, Any]] = field(default_factory=list)  # best: every approach's chain


def _finite(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _save(img: Image.Image, path: Path) -> None:
    with atomic.atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


def _person(models: ChainModels, approach: str, requested: np.ndarray, seed: int, truncation: float):
    """The approach's new person in the requested pose: (images to save, person, its own pose or
    None, the person in the pose)."""
    chain = models.chains[approach]
    first = chain.approach.chain[0]
    if chain.approach.pose_controlled:  # one network draws the person straight into the pose
        person = chain.steps[0].sample(requested, [seed])[0].convert("RGB")
        steps = [
            ("1 requested pose", "requested_pose.png", draw_pose(requested, person.size)),
            (f"2 new person in the pose ({first.label})", "person.png", person),
        ]
        return steps, person, None, person
    person = chain.steps[0].sample([seed], truncation)[0].convert("RGB")
    person_kp = models.estimator.estimate(person)
    reposed = chain.steps[1].transfer(person, person_kp, requested)
    steps = [
        (f"1 person ({first.label})", "person.png", person),
        ("2 person's own pose", "person_pose.png", draw_pose(person_kp, person.size, person)),
        ("3 requested pose", "requested_pose.png", draw_pose(requested, person.size)),
        (f"4 re-posed ({chain.approach.chain[1].label})", "reposed.png", reposed),
    ]
    return steps, person, person_kp, reposed


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
    steps, person, person_kp, posed = _person(models, approach, requested, seed, truncation)
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
        by = models.compositor_label
        files[f"{n} bag, warp {i} ({by})" if i else f"{n} bag at its start ({by})"] = name
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
    (`adgen evaluate compare`, see adgen.generate.best), else to the earlier approach."""
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
    wanted = requested if isinstance(requested, dict) else {a: requested for a in models.chains}
    ads, people = [], []
    for seed in track(seeds, "generating ads"):
        folder = out_dir / f"seed-{seed}"
        if models.approach != "best":
            a = models.approach
            ad, person = _one_chain(models, a, wanted[a], bag, seed, out_dir, folder, truncation, bag_seed)
        else:
            made = [
                _one_chain(
                    models, a, wanted[a], bag, seed, out_dir, folder / f"approach-{a}", truncation, bag_seed
                )
                for a in models.chains
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
        ran = {c["approach"] for a in ads for c in a.candidates}
        for name in [a for a in chains() if a in ran]:  # not the approaches `best` skipped
            out[f"ads_from_approach_{name}"] = sum(a.approach == name for a in ads)
            out[f"pose_mse_reposed_approach_{name}"] = mean(
                [c["pose_mse_reposed"] for a in ads for c in a.candidates if c["approach"] == name]
            )
    return {**out, **inception, "checkpoints": checkpoints}
