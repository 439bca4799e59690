"""SF-GAN training: the geometry part first (ST-GAN, pre-trained here or loaded), then both jointly.

Stage 1, geometry. Either `stgan_checkpoint` names a trained ST-GAN (file or run dir), or ST-GAN's
own trainer runs in `<run dir>/geometry` with the schedule of `geometry_*` (it resumes by itself).

Stage 2, joint (end to end). One iteration:
- a generator step for both synthesizers: the warped composite's WGAN loss under the geometry
  discriminator (+ dp_lambda |dp|^2, as ST-GAN), the final composite's LSGAN loss under the
  appearance discriminator, and the relight cycle (a bag-shaped patch of a real photo, relit by a
  random known light, must come back unchanged; `identity_share` of them are not relit and must be
  left alone). Gradients of the appearance losses reach the warps too (`lr_geometry` > 0);
- one WGAN-GP step of the geometry discriminator and one LSGAN step of the appearance
  discriminator, on the fakes of that generator pass against fresh real photos.

A checkpoint holds everything needed to continue bit for bit (weights, the four Adam states, the
grad scaler, iteration, every rank's torch RNG), and only tensors, numbers, strings and plain
containers, so it loads weights-only through `adgen.training.checkpoint.read`.

`SfganTrainer` is the project's one training loop's `Trainer` (adgen.training.loop): the loop owns
resume, ticks (every `log_every` steps a stats record of the last step's losses), checkpoints,
samples, the progress bar and the metrics; stage 1 is the trainer's `begin` on a new run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from adgen import atomic
from adgen.errors import UserError
from adgen.models.sfgan.config import DIAGNOSTIC_COLUMNS, LOSS_COLUMNS, SfganParams
from adgen.models.sfgan.data import anchors_of, translation_to
from adgen.models.sfgan.model import (
    AppearanceDiscriminator,
    AppearanceTranslator,
    GeometryDiscriminator,
    SpatialFusion,
    count_parameters,
)
from adgen.models.sfgan.relight import apply_light, mix_lights, random_light
from adgen.models.sfgan.samples import write_samples
from adgen.models.stgan import warp
from adgen.models.stgan.config import StganParams
from adgen.models.stgan.data import StganData, as_float, load_dataset
from adgen.models.stgan.train import FORMAT as STGAN_FORMAT
from adgen.models.stgan.train import Renderer, overflow
from adgen.models.stgan.train import build_networks as build_stgan_networks
from adgen.training import checkpoint, dist, loop, rundir
from adgen.training.loop import TickStats, Trainer, TrainResult
from adgen.training.session import CheckpointKind, Schedule, Session

if TYPE_CHECKING:
    from adgen.models.registry import TrainJob

FORMAT = "adgen-sfgan/1"
KIND = CheckpointKind("sfgan", "an SF-GAN checkpoint", mark=("format", FORMAT))


@dataclass
class Networks:
    fusion: SpatialFusion
    d_geometry: GeometryDiscriminator
    d_appearance: AppearanceDiscriminator

    def as_dict(self) -> dict[str, torch.nn.Module]:
        return {
            "G_geometry": self.fusion.geometry,
            "G_appearance": self.fusion.appearance,
            "D_geometry": self.d_geometry,
            "D_appearance": self.d_appearance,
        }


def build_networks(params: SfganParams) -> Networks:
    geometry, d_geometry = build_stgan_networks(params.geometry_params())
    appearance = AppearanceTranslator(
        params.app_channels, params.app_levels, params.style_residual, params.gf_radius, params.gf_eps
    )
    return Networks(
        SpatialFusion(geometry, appearance), d_geometry, AppearanceDiscriminator(params.d_app_channels)
    )


# --- stage 1: the geometry synthesizer ---------------------------------------------------------------


def stgan_state(path: Path) -> dict[str, Any]:
    """A trained ST-GAN's checkpoint state (file, or a run dir: its newest finished warp)."""
    from adgen.models.stgan.api import find_checkpoint

    found = find_checkpoint(Path(path))
    state = checkpoint.load(found, map_location="cpu", restore_rng=False)
    if state.get("format") != STGAN_FORMAT:
        raise UserError(f"{found}: not an ST-GAN checkpoint (format {state.get('format')!r})")
    return state


def check_geometry_matches(params: SfganParams, state: dict[str, Any], where: Path) -> None:
    sp = StganParams(**state["params"])
    for key in ("height", "width", "warp_type", "warps", "d_norm"):
        if getattr(sp, key) != getattr(params, key):
            raise UserError(
                f"{where}: the ST-GAN has {key} {getattr(sp, key)!r} but train.sfgan.{key} is "
                f"{getattr(params, key)!r}; set them equal or pre-train the geometry here (stgan_checkpoint: null)"
            )
    if int(state["phase"]) < sp.warps:
        raise UserError(
            f"{where}: this ST-GAN run has trained {state['phase']} of {sp.warps} warps; finish it first"
        )


def pretrain_geometry(params: SfganParams, run_dir: Path, data_root: Path | None, echo: bool) -> Path:
    """Stage 1: the ST-GAN to start from (given, or trained in <run dir>/geometry)."""
    if params.stgan_checkpoint is not None:
        return Path(params.stgan_checkpoint)
    from adgen.models.stgan.train import run as train_stgan

    geometry_dir = Path(run_dir) / "geometry"
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # ST-GAN's trainer ends the process group when it finishes, and a second one does not start
        # under torchrun: pre-train in one process (or on the pool with `adgen train stgan`) first.
        finished = geometry_dir / f"warp-{params.warps}.pt"
        if finished.is_file():
            return finished
        raise UserError(
            "under torchrun the geometry part is not pre-trained here: train ST-GAN first "
            "(`adgen train stgan`) and set train.sfgan.stgan_checkpoint to its run dir"
        )
    train_stgan(params.geometry_params(), geometry_dir, None, data_root, echo)
    return geometry_dir


# --- stage 2: joint training -------------------------------------------------------------------------


def erode(alpha: torch.Tensor) -> torch.Tensor:
    """Alpha eroded by ~3% of the image side (a min-filter)."""
    r = max(1, round(0.03 * max(alpha.shape[-2:])))
    return -F.max_pool2d(-alpha, 2 * r + 1, stride=1, padding=r)


class CycleRenderer(Renderer):
    """ST-GAN's renderer, plus real photos as they are (the cycle needs the bag where the anchor says)."""

    def real_unperturbed(self, idx: torch.Tensor) -> torch.Tensor:
        return as_float(self.data.real[idx.to(self.device)])


class SfganTrainer(Trainer):
    """The four networks, their optimisers and one joint step; `adgen.training.loop` runs it.

    A new run's first act (`begin`) is stage 1: the geometry part pre-trained or loaded. Without a
    `session` (tests and benchmarks of the step alone) it only steps."""

    name, label, kind, unit, step_key = "sfgan", "SF-GAN joint", KIND, "step", "step"
    loss_columns = LOSS_COLUMNS
    restore_rng = False  # every rank's own RNG state is in the checkpoint: load_state_dict sets it

    def __init__(
        self,
        params: SfganParams,
        data: StganData,
        run_dir: Path,
        rt: dist.Runtime,
        real_anchors: torch.Tensor | None = None,
        session: Session | None = None,
        data_root: Path | None = None,
    ):
        self.params, self.run_dir, self.rt = params, Path(run_dir), rt
        self.session, self.data_root = session, data_root
        self.total = params.iters
        self.keep_checkpoints = params.keep_checkpoints
        every = {
            "tick": params.log_every,
            "sample": params.sample_every,
            "checkpoint": params.checkpoint_every,
        }
        self.schedule = Schedule(every, [params.iters])
        self.resumed = False
        self.tick_seconds = 0.0
        self.data = data.to(rt.device)
        # Where the bag sits in each real photo (NaN where the dataset does not say).
        n_real = len(data.real)
        self.real_anchors = (
            real_anchors if real_anchors is not None else torch.full((n_real, 2), float("nan"))
        )
        checkpoint.seed_everything(params.seed)
        self.nets = build_networks(params)
        for module in self.nets.as_dict().values():
            module.to(rt.device)
        self.seed_batches()
        self.render = CycleRenderer(params.geometry_params(), self.data, rt.device)
        self.iteration = 0
        self._make_optimizers()

    @property
    def steps(self) -> int:
        return self.iteration

    def seed_batches(self) -> None:
        checkpoint.seed_everything(self.params.seed + 1000 * self.rt.rank)  # ranks draw different batches

    def _make_optimizers(self) -> None:
        p, n = self.params, self.nets
        tf_betas = (0.9, 0.999)  # ST-GAN's (TensorFlow's) Adam defaults for the ST-GAN parts
        self.train_geometry = p.lr_geometry > 0
        n.fusion.geometry.requires_grad_(self.train_geometry)
        self.opt_geometry = (
            torch.optim.Adam(n.fusion.geometry.parameters(), lr=p.lr_geometry, betas=tf_betas)
            if self.train_geometry
            else None
        )
        self.opt_appearance = torch.optim.Adam(
            n.fusion.appearance.parameters(), lr=p.lr_appearance, betas=p.adam_betas_app
        )
        self.opt_d_geometry = torch.optim.Adam(n.d_geometry.parameters(), lr=p.lr_d_geometry, betas=tf_betas)
        self.opt_d_appearance = torch.optim.Adam(
            n.d_appearance.parameters(), lr=p.lr_d_appearance, betas=p.adam_betas_app
        )
        self.scaler = self.rt.grad_scaler()

    def load_geometry(self, state: dict[str, Any]) -> None:
        self.nets.fusion.geometry.load_state_dict(state["generators"])
        self.nets.d_geometry.load_state_dict(state["discriminator"])
        self.rt.broadcast_from_main(*self.nets.as_dict().values())

    # --- losses --------------------------------------------------------------------------------------
    def relight_cycle(self, real_idx: torch.Tensor) -> torch.Tensor:
        """Mean abs error, over a bag-shaped patch of a real photo, of bringing it back to its scene's light.

        The patch is a bag cut-out's silhouette put where the photo's own bag is (its anchor), or at
        a random place when the dataset does not say. A random light T relights either the patch (the
        answer is the photo as it was) or the rest of the scene (the answer is the patch relit by T
        too): both say "the bag must take the scene's light", with the answer known and no labels.
        `identity_share` of the draws relight nothing: a bag that already fits must be left alone.
        """
        p, dev = self.params, self.rt.device
        n = len(real_idx)
        real = self.render.real_unperturbed(real_idx)
        shapes = self.render.foreground(torch.randint(len(self.data.foreground), (n,)))
        anchors = self.real_anchors[real_idx]
        known = torch.isfinite(anchors).all(dim=1)
        where = p.cycle_pert * torch.randn(n, self.render.dim)
        to_anchor = translation_to(shapes[:, 3:4], anchors, p.warp_type)
        where = torch.where(known[:, None], to_anchor, where)
        alpha = warp.warp_image(shapes, where.to(dev), p.warp_type)[:, 3:4]
        # On a real bag, shrink the silhouette to lie inside it: a fringe of the scene's own pixels
        # (white backdrop, the person) inside the patch would show the patch's light directly,
        # a cue a studio bag never carries.
        alpha = torch.where(known.to(dev).view(n, 1, 1, 1), erode(alpha), alpha)
        light = mix_lights(random_light(n, p.light_strength), torch.rand(n) < p.identity_share)
        relit = apply_light(real, light.to(dev))
        scene_relit = (torch.rand(n) < 0.5).to(dev).view(n, 1, 1, 1)
        scene = torch.where(scene_relit, relit, real)
        patch_rgb = torch.where(scene_relit, real, relit)
        # Premultiplied at the edges, as a warped bag cut-out is.
        patch = torch.cat([patch_rgb * alpha, alpha], dim=1)
        with self.rt.autocast():
            restored = self.nets.fusion.appearance(scene, patch)
        diff = (restored[:, :3].float() - scene).abs() * alpha
        return diff.sum() / (3 * alpha.sum()).clamp_min(1e-8)

    def _d_geometry_step(self, fake: torch.Tensor, real_idx: torch.Tensor) -> dict[str, float]:
        """WGAN-GP, as ST-GAN's discriminator step."""
        d, opt = self.nets.d_geometry, self.opt_d_geometry
        real = self.render.real(real_idx)
        a = torch.rand(len(fake), 1, 1, 1, device=fake.device)
        mixed = (a * real + (1 - a) * fake).requires_grad_(True)
        opt.zero_grad(set_to_none=True)
        with self.rt.autocast():
            out_real = d(real).float().mean()
            out_fake = d(fake).float().mean()
            out_mixed = d(mixed).float()
        (grad,) = torch.autograd.grad(out_mixed.sum(), mixed, create_graph=True)
        norm = torch.sqrt((grad.float() ** 2 + 1e-8).sum(dim=(1, 2, 3)))
        loss = out_fake - out_real + self.params.gp_lambda * ((norm - 1.0) ** 2).mean()
        self.scaler.scale(loss).backward()
        self.rt.average_gradients(d)
        self.scaler.step(opt)
        self.scaler.update()
        return {"loss_d_geometry": loss.item(), "w_dist": (out_real - out_fake).item()}

    def _d_appearance_step(self, fake: torch.Tensor, real_idx: torch.Tensor) -> dict[str, float]:
        """LSGAN: real -> 1, fake -> 0."""
        d, opt = self.nets.d_appearance, self.opt_d_appearance
        real = self.render.real(real_idx)
        opt.zero_grad(set_to_none=True)
        with self.rt.autocast():
            loss = 0.5 * (((d(real).float() - 1) ** 2).mean() + (d(fake).float() ** 2).mean())
        self.scaler.scale(loss).backward()
        self.rt.average_gradients(d)
        self.scaler.step(opt)
        self.scaler.update()
        return {"loss_d_appearance": loss.item()}

    def step(self) -> dict[str, float]:
        p, nets = self.params, self.nets
        bg_idx, fg_idx, real_idx = self.data.draw_indices(p.batch)
        background = self.render.background(bg_idx, self.render.new_pert(p.batch))
        foreground = self.render.foreground(fg_idx)
        p0 = (p.pert_fg * torch.randn(p.batch, self.render.dim)).to(self.rt.device)
        for d in (nets.d_geometry, nets.d_appearance):
            d.requires_grad_(False)
        with self.rt.autocast():
            out = nets.fusion(background, foreground, p0)
            g_geometry = -nets.d_geometry(out.geometry_composite).float().mean()
            g_appearance = ((nets.d_appearance(out.composite).float() - 1) ** 2).mean()
        dp_norm = (out.dp.float() ** 2 + 1e-8).sum(dim=1).mean()
        cycle = self.relight_cycle(real_idx)
        ramp = min(1.0, (self.iteration + 1) / p.appearance_warmup) if p.appearance_warmup else 1.0
        loss_g = ramp * p.appearance_weight * g_appearance + p.cycle_lambda * cycle
        if self.train_geometry:
            loss_g = loss_g + p.geometry_weight * g_geometry + p.dp_lambda * dp_norm
        self.opt_appearance.zero_grad(set_to_none=True)
        if self.opt_geometry is not None:
            self.opt_geometry.zero_grad(set_to_none=True)
        self.scaler.scale(loss_g).backward()
        self.rt.average_gradients(nets.fusion)
        self.scaler.step(self.opt_appearance)
        if self.opt_geometry is not None:
            self.scaler.step(self.opt_geometry)
        self.scaler.update()
        for d in (nets.d_geometry, nets.d_appearance):
            d.requires_grad_(True)
        stats = {
            "loss_g_geometry": g_geometry.item(),
            "loss_g_appearance": g_appearance.item(),
            "loss_cycle": cycle.item(),
            "dp_norm": dp_norm.item(),
        }
        stats.update(self._d_geometry_step(out.geometry_composite.detach(), real_idx))
        stats.update(self._d_appearance_step(out.composite.detach(), real_idx))
        self.iteration += 1
        return stats

    # --- evaluation ----------------------------------------------------------------------------------
    @torch.no_grad()
    def placement_errors(self) -> tuple[float, float] | None:
        """Bag centre to anchor (fraction of the image) at p0 and after every warp, as ST-GAN measures it."""
        idx = self.data.eval_indices(self.params.eval_images)
        if len(idx) == 0:
            return None
        gen = torch.Generator().manual_seed(self.params.seed + 7)
        p0 = self.params.pert_fg * torch.randn(len(idx), self.render.dim, generator=gen)
        background = as_float(self.data.background[idx.to(self.rt.device)])
        foreground = self.render.foreground(torch.arange(len(idx)) % len(self.data.foreground))
        geometry = self.nets.fusion.geometry
        ps, _ = geometry(background, foreground, p0.to(self.rt.device), len(geometry.generators))
        anchors = self.data.anchors[idx].to(self.rt.device)
        errors = [
            (warp.alpha_centroid(geometry.warp(foreground, pk)[:, 3:4]) - anchors).norm(dim=1).mean().item()
            for pk in (ps[0], ps[-1])
        ]
        return errors[0], errors[1]

    # --- checkpoints ---------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        ranks = self.rt.gather(rng)  # every rank takes part; rank 0 writes them all
        n = self.nets
        return {
            "format": FORMAT,
            "params": self.params.model_dump(mode="json"),
            "iteration": self.iteration,
            "geometry": n.fusion.geometry.state_dict(),
            "appearance": n.fusion.appearance.state_dict(),
            "d_geometry": n.d_geometry.state_dict(),
            "d_appearance": n.d_appearance.state_dict(),
            "opt_geometry": self.opt_geometry.state_dict() if self.opt_geometry else None,
            "opt_appearance": self.opt_appearance.state_dict(),
            "opt_d_geometry": self.opt_d_geometry.state_dict(),
            "opt_d_appearance": self.opt_d_appearance.state_dict(),
            "scaler": self.scaler.state_dict(),
            "ranks": ranks,
            # Torch RNG only (this trainer draws from nothing else), in a weights-only-safe form.
            "rng": ranks[0],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n = self.nets
        n.fusion.geometry.load_state_dict(state["geometry"])
        n.fusion.appearance.load_state_dict(state["appearance"])
        n.d_geometry.load_state_dict(state["d_geometry"])
        n.d_appearance.load_state_dict(state["d_appearance"])
        self.iteration = int(state["iteration"])
        if self.opt_geometry is not None and state["opt_geometry"] is not None:
            self.opt_geometry.load_state_dict(state["opt_geometry"])
        self.opt_appearance.load_state_dict(state["opt_appearance"])
        self.opt_d_geometry.load_state_dict(state["opt_d_geometry"])
        self.opt_d_appearance.load_state_dict(state["opt_d_appearance"])
        self.scaler.load_state_dict(state["scaler"])
        ranks = state["ranks"]
        mine = ranks[self.rt.rank] if len(ranks) == self.rt.world_size else ranks[0]
        torch.set_rng_state(mine["torch"].cpu())
        if "cuda" in mine and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([t.cpu() for t in mine["cuda"]])
        self.resumed = True

    # --- what the loop records ---------------------------------------------------------------------
    def begin(self) -> None:
        """A new run: stage 1 (ST-GAN's trainer, in one process: refused under torchrun) gives the
        geometry part. The batch streams are seeded again after it, so the joint stage draws the
        same whether its geometry was pre-trained here or loaded."""
        if self.resumed:
            return
        geometry_from = pretrain_geometry(self.params, self.run_dir, self.data_root, self.session.log.echo)
        state = stgan_state(geometry_from)
        check_geometry_matches(self.params, state, geometry_from)
        self.load_geometry(state)
        self.seed_batches()
        counts = {k: count_parameters(m) for k, m in self.nets.as_dict().items()}
        self.session.say(
            f"geometry from {geometry_from}; parameters {counts}; device {self.rt.device}, amp {self.rt.amp_dtype}"
        )

    def where(self) -> str:
        return f"joint step {self.iteration}"

    def check(self, stats: Mapping[str, float]) -> None:
        overflow(self.session, self.scaler, stats, f"step {self.iteration}")

    def record(self, tick: TickStats) -> dict[str, Any]:
        """The losses of the tick's last step (ST-GAN's convention)."""
        self.tick_seconds = tick.seconds
        return {"step": self.iteration, **tick.last}

    def log_line(self, record: Mapping[str, Any]) -> str:
        shown = " ".join(f"{k}={v:.4f}" for k, v in record.items() if k != "step")
        return f"step {self.iteration}/{self.params.iters} {shown} ({self.tick_seconds:.1f}s)"

    def periodic(self, what: str, before: float, after: float) -> None:
        if what == "sample":
            self.session.on_main(write_samples, self, final=self.iteration == self.params.iters)

    def final_values(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        losses = [r for r in records if "loss_cycle" in r]
        final = losses[-1] if losses else {}
        values: dict[str, Any] = {
            "joint_steps": self.iteration,
            "preset": self.params.preset,
            "parameters": {k: count_parameters(m) for k, m in self.nets.as_dict().items()},
            **{k: final[k] for k in (*LOSS_COLUMNS, *DIAGNOSTIC_COLUMNS) if k in final},
        }
        errors = self.placement_errors()
        if errors is not None:
            values["placement_error_p0"], values["placement_error_final"] = errors
        return values

    def wrap_up(self, result: TrainResult, records: list[dict[str, Any]]) -> None:
        """The run dir keeps its own metrics.json, a run stopped early included."""
        atomic.write_json(self.run_dir / "metrics.json", result.values)
        self.session.say(f"done: {self.iteration} joint steps; checkpoint {result.checkpoint}")


def load_state(path: Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """An SF-GAN checkpoint (weights only), or a one-line error for anything else."""
    state = checkpoint.read(path, "SF-GAN checkpoint", map_location=device)  # weights only, one line
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        got = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise UserError(f"{path}: not an SF-GAN checkpoint (format {got!r})")
    return state


# --- the run ---------------------------------------------------------------------------------------


def run(
    params: SfganParams,
    run_dir: Path,
    metrics_dir: Path | None = None,
    data_root: Path | None = None,
    echo: bool = True,
    until: int | None = None,
) -> TrainResult:
    """Train or resume SF-GAN in `run_dir`; `until` stops (with a checkpoint) after that many joint steps."""

    def build(session: Session) -> SfganTrainer:
        session.require_same_options(params, data_root)
        # project-relative paths: a moved or copied workspace resumes this run
        options = {"model": "sfgan", "params": params.model_dump(mode="json")}
        session.write_options(rundir.portable(options, data_root))
        data = load_dataset(params.index, params.height, params.width, params.fg_scale, data_root)
        real_anchors = anchors_of(params.index, "real", params.height)
        return SfganTrainer(params, data, session.run_dir, session.rt, real_anchors, session, data_root)

    return loop.run_with(build, run_dir, params, echo=echo, metrics_dir=metrics_dir, stop_at=until)


def train(job: TrainJob) -> TrainResult:
    """The registry's entry (`adgen train sfgan`): options resolved, run dir chosen, metrics located."""
    return run(job.options, job.run_dir, job.metrics_dir, data_root=getattr(job.params, "root", None))
