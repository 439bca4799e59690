"""ST-GAN training: D alone on centred bags, then warps 1..N, each trained with the earlier frozen.

One iteration of a warp phase is the official one: one generator step (WGAN loss of the composite
plus dp_lambda * |dp|^2 of the newest warp), then `d_steps` discriminator steps (WGAN-GP, lambda 10)
on the fakes of that generator pass mixed with the history ring; real images and the gradient-
penalty mix are drawn afresh for every D step. A new phase starts a new warp (at its random init)
and fresh Adam states and history, as each official stage was a new process that loaded only the
weights; D carries over.

A checkpoint holds everything needed to continue bit-for-bit (weights, Adam states, grad scaler,
history ring, RNG states of every rank, iteration), so a run killed with -9 resumes to exactly the
losses of an uninterrupted one. Each phase's final state is also kept as `warp-<k>.pt` (k = 0 for
the D-only phase) for the compositor.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from adgen import atomic
from adgen.models.stgan import warp
from adgen.models.stgan.config import StganParams
from adgen.models.stgan.data import StganData, as_float, load_dataset
from adgen.models.stgan.history import FakeHistory, FakeRecipes
from adgen.models.stgan.model import Discriminator, WarpGenerator, WarpSequence, count_parameters
from adgen.models.stgan.samples import write_phase_samples
from adgen.training import checkpoint, dist, rundir
from adgen.training.session import CheckpointKind, Schedule, Session

FORMAT = "adgen-stgan/1"
LOSS_COLUMNS = ("loss_d", "loss_g", "grad_norm", "w_dist", "dp_norm")


@dataclass
class TrainResult:
    run_dir: Path
    checkpoint: Path
    iterations: int
    metrics: dict[str, Any] = field(default_factory=dict)


def build_networks(params: StganParams) -> tuple[WarpSequence, Discriminator]:
    gens = [
        WarpGenerator(params.height, params.width, params.warp_type, params.init_std)
        for _ in range(params.warps)
    ]
    seq = WarpSequence(gens, params.warp_type, params.exp_terms)
    return seq, Discriminator(params.d_norm, params.init_std)


def phase_of(params: StganParams, iteration: int) -> int:
    """Phase of the iteration with this 0-based index: 0 = D only, w = training warp w."""
    if iteration < params.iters_d_only:
        return 0
    return min(params.warps, 1 + (iteration - params.iters_d_only) // params.iters_per_warp)


def phase_end(params: StganParams, phase: int) -> int:
    """Iterations completed when `phase` ends."""
    return params.iters_d_only + phase * params.iters_per_warp


class Renderer:
    """Turns (indices, perturbations, warps) into background / real / composite images."""

    def __init__(self, params: StganParams, data: StganData, device: torch.device):
        self.params, self.data, self.device = params, data, device
        self.fill = 1.0 if params.bg_fill == "white" else 0.0
        self.dim = warp.warp_dim(params.warp_type)

    def perturbed(self, images: torch.Tensor, pert: torch.Tensor) -> torch.Tensor:
        return warp.perturb_background(
            as_float(images), pert.to(self.device), self.params.warp_type, self.fill
        )

    def new_pert(self, batch: int) -> torch.Tensor:
        return warp.background_perturbation(batch, self.params.pert_bg, self.params.warp_type)

    def real(self, idx: torch.Tensor) -> torch.Tensor:
        return self.perturbed(self.data.real[idx.to(self.device)], self.new_pert(len(idx)))

    def background(self, idx: torch.Tensor, pert: torch.Tensor) -> torch.Tensor:
        return self.perturbed(self.data.background[idx.to(self.device)], pert)

    def foreground(self, idx: torch.Tensor) -> torch.Tensor:
        return as_float(self.data.foreground[idx.to(self.device)])

    def fakes(self, r: FakeRecipes) -> torch.Tensor:
        fg = warp.warp_image(self.foreground(r.fg_index), r.p.to(self.device), self.params.warp_type)
        return warp.composite(fg, self.background(r.bg_index, r.bg_pert))


class StganTrainer:
    def __init__(
        self, params: StganParams, data: StganData, run_dir: Path, runtime: dist.Runtime, echo: bool
    ):
        self.params, self.rt = params, runtime
        self.run = Session(run_dir, runtime, echo, step_key="iteration")
        self.run_dir = self.run.run_dir
        self.data = data.to(runtime.device)
        checkpoint.seed_everything(params.seed)
        self.gens, self.disc = build_networks(params)
        self.gens.to(runtime.device)
        self.disc.to(runtime.device)
        runtime.broadcast_from_main(self.gens, self.disc)
        checkpoint.seed_everything(params.seed + 1000 * runtime.rank)  # ranks draw different batches
        self.render = Renderer(params, self.data, runtime.device)
        self.scaler = runtime.grad_scaler()
        self.iteration = 0
        self.phase = -1
        self.opt_g: torch.optim.Adam | None = None
        self.opt_d: torch.optim.Adam | None = None
        self.history: FakeHistory | None = None

    # --- set-up ---------------------------------------------------------------------------------
    def start_phase(self, phase: int) -> None:
        """Fresh Adam states and history; only the newest warp's weights train."""
        p = self.params
        self.phase = phase
        for i, gen in enumerate(self.gens.generators):
            gen.requires_grad_(i == phase - 1)
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=p.lr_d, betas=p.adam_betas, eps=1e-8)
        self.opt_g = None
        if phase > 0:
            newest = self.gens.generators[phase - 1]
            self.opt_g = torch.optim.Adam(newest.parameters(), lr=p.lr_g, betas=p.adam_betas, eps=1e-8)
        self.history = None
        if phase > 0 and p.history_size:
            self.history = FakeHistory(p.history_size, p.history_mix, self.render.dim)
        self.scaler = self.rt.grad_scaler()

    # --- one iteration --------------------------------------------------------------------------
    def _d_step(self, fake: torch.Tensor, real_idx: torch.Tensor) -> dict[str, float]:
        p = self.params
        real = self.render.real(real_idx)
        a = torch.rand(len(fake), 1, 1, 1, device=fake.device)
        mixed = (a * real + (1 - a) * fake).requires_grad_(True)
        self.opt_d.zero_grad(set_to_none=True)
        with self.rt.autocast():
            out_real = self.disc(real).float().mean()
            out_fake = self.disc(fake).float().mean()
            out_mixed = self.disc(mixed).float()
        # tf.gradients(D(x_hat), x_hat): the gradient of the score map's sum. It is left unscaled even
        # under fp16: the penalty holds its norm near 1, and scaling it by 2^16 overflows fp16.
        (grad,) = torch.autograd.grad(out_mixed.sum(), mixed, create_graph=True)
        grad = grad.float()
        norm = torch.sqrt((grad**2 + 1e-8).sum(dim=(1, 2, 3)))
        penalty = ((norm - 1.0) ** 2).mean()
        loss = out_fake - out_real + p.gp_lambda * penalty
        self.scaler.scale(loss).backward()
        self.rt.average_gradients(self.disc)
        self.scaler.step(self.opt_d)
        self.scaler.update()
        return {
            "loss_d": loss.item(),
            "grad_norm": norm.mean().item(),
            "w_dist": (out_real - out_fake).item(),
        }

    def _g_pass(self, bg_idx: torch.Tensor, fg_idx: torch.Tensor, pert_fg: float, n: int):
        pert = self.render.new_pert(len(bg_idx))
        background = self.render.background(bg_idx, pert)
        foreground = self.render.foreground(fg_idx)
        p0 = pert_fg * torch.randn(len(bg_idx), self.render.dim)
        with self.rt.autocast():
            ps, dp = self.gens(background, foreground, p0.to(self.rt.device), n)
        fake = warp.composite(self.gens.warp(foreground, ps[-1]), background)
        return fake, FakeRecipes(bg_idx, pert, fg_idx, ps[-1].detach().cpu()), dp

    def step(self) -> dict[str, float]:
        p = self.params
        bg_idx, fg_idx, real_idx = self.data.draw_indices(p.batch)
        stats: dict[str, float] = {}
        if self.phase == 0:
            # D-only pre-training: bags at the centre, a fresh p0 and background draw for each D step.
            for _ in range(p.d_steps):
                with torch.no_grad():
                    fake, _, _ = self._g_pass(bg_idx, fg_idx, p.pert_fg_d_only, 0)
                stats = self._d_step(fake, real_idx)
            return stats
        newest = self.gens.generators[self.phase - 1]
        self.disc.requires_grad_(False)
        for _ in range(p.g_steps):
            fake, recipes, dp = self._g_pass(bg_idx, fg_idx, p.pert_fg, self.phase)
            self.opt_g.zero_grad(set_to_none=True)
            with self.rt.autocast():
                out_fake = self.disc(fake).float().mean()
            dp_norm = (dp**2 + 1e-8).sum(dim=1).mean()
            loss_g = -out_fake + p.dp_lambda * dp_norm
            self.scaler.scale(loss_g).backward()
            self.rt.average_gradients(newest)
            self.scaler.step(self.opt_g)
            self.scaler.update()
        self.disc.requires_grad_(True)
        stats.update(loss_g=loss_g.item(), dp_norm=dp_norm.item())
        # D sees the fakes of this generator pass (made before its update), through the history.
        if self.history is not None:
            recipes = self.history.mix(recipes)
        with torch.no_grad():
            d_fake = self.render.fakes(recipes)
        for _ in range(p.d_steps):
            stats.update(self._d_step(d_fake, real_idx))
        return stats

    # --- evaluation ------------------------------------------------------------------------------
    @torch.no_grad()
    def placement_errors(self, n_warps: int) -> list[float] | None:
        """Mean distance (fraction of the image) from the bag's centre to the anchor after each warp.

        Backgrounds unperturbed; p0 = pert_fg * N(0, I) from a fixed generator, so every phase is
        measured on the same starting placements and the global RNG is untouched.
        """
        idx = self.data.eval_indices(self.params.eval_images)
        if len(idx) == 0:
            return None
        gen = torch.Generator().manual_seed(self.params.seed + 7)
        p0 = self.params.pert_fg * torch.randn(len(idx), self.render.dim, generator=gen)
        fg_idx = torch.arange(len(idx)) % len(self.data.foreground)
        background = as_float(self.data.background[idx.to(self.rt.device)])
        foreground = self.render.foreground(fg_idx)
        ps, _ = self.gens(background, foreground, p0.to(self.rt.device), n_warps)
        anchors = self.data.anchors[idx].to(self.rt.device)
        errors = []
        for pk in ps:
            centre = warp.alpha_centroid(self.gens.warp(foreground, pk)[:, 3:4])
            errors.append((centre - anchors).norm(dim=1).mean().item())
        return errors

    # --- checkpoints -----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        per_rank = self.rt.gather(
            {
                "rng": checkpoint.rng_state(),
                "history": self.history.state_dict() if self.history else None,
            }
        )
        return {
            "format": FORMAT,
            "params": self.params.model_dump(mode="json"),
            "iteration": self.iteration,
            "phase": self.phase,
            "generators": self.gens.state_dict(),
            "discriminator": self.disc.state_dict(),
            "opt_g": self.opt_g.state_dict() if self.opt_g else None,
            "opt_d": self.opt_d.state_dict() if self.opt_d else None,
            "scaler": self.scaler.state_dict(),
            "ranks": per_rank,
            "rng": per_rank[0]["rng"],
        }

    def save(self, phase_done: bool) -> Path | None:
        state = self.state()  # every rank takes part in the gather
        path = self.run.save(self.iteration, state, self.params.keep_checkpoints)
        if path is not None and phase_done:
            with atomic.atomic_path(self.run_dir / f"warp-{self.phase}.pt") as tmp:
                shutil.copyfile(path, tmp)
        return path

    def restore(self, path: Path) -> None:
        self.restore_state(checkpoint.load(path, map_location=self.rt.device, restore_rng=False))

    def restore_state(self, state: dict[str, Any]) -> None:
        self.gens.load_state_dict(state["generators"])
        self.disc.load_state_dict(state["discriminator"])
        self.iteration = state["iteration"]
        self.start_phase(state["phase"])
        if state["opt_g"] is not None:
            self.opt_g.load_state_dict(state["opt_g"])
        if state["opt_d"] is not None:
            self.opt_d.load_state_dict(state["opt_d"])
        self.scaler.load_state_dict(state["scaler"])
        ranks = state["ranks"]
        mine = ranks[self.rt.rank] if len(ranks) == self.rt.world_size else ranks[0]
        if self.history is not None and mine["history"] is not None:
            self.history.load_state_dict(mine["history"])
        checkpoint.set_rng_state(mine["rng"])


def _write_loss_csv(records: list[dict[str, Any]], paths: list[Path]) -> None:
    rows = [r for r in records if "loss_d" in r]
    lines = [",".join(("step", *LOSS_COLUMNS))]
    for r in rows:
        values = [r.get(c) for c in LOSS_COLUMNS]
        lines.append(",".join([str(r["iteration"])] + ["" if v is None else f"{v:.6g}" for v in values]))
    text = "\n".join(lines) + "\n"
    for path in paths:
        atomic.write_text(path, text)


def _options(params: StganParams, index: Path) -> dict[str, Any]:
    return {"model": "stgan", "index": str(index), "params": params.model_dump(mode="json")}


KIND = CheckpointKind("stgan", "an ST-GAN checkpoint", mark=("format", FORMAT))


def train(
    params: StganParams,
    index: Path,
    run_dir: Path,
    metrics_dir: Path | None = None,
    data_root: Path | None = None,
    echo: bool = True,
) -> TrainResult:
    """Train (or resume, when run_dir holds a checkpoint) ST-GAN; returns the final checkpoint."""
    with Session.open(run_dir, params.device, params.amp, echo=echo, step_key="iteration") as run:
        rt = run.rt
        resume = run.newest_checkpoint(KIND)
        if resume is not None:
            run.require_same_options(params, data_root)
        run.write_options(rundir.portable(_options(params, index), data_root))  # a moved workspace resumes
        data = load_dataset(index, params.height, params.width, params.fg_scale, data_root)
        trainer = StganTrainer(params, data, run.run_dir, rt, echo)
        if resume is not None:
            trainer.restore_state(resume[1])  # each rank's own RNG states
            run.resumed(*resume, trainer.iteration, f"iteration {trainer.iteration}", rng=False)
        else:
            run.say(
                f"ST-GAN {params.preset}: {params.height}x{params.width} {params.warp_type}, {params.warps} warps, "
                f"G {count_parameters(trainer.gens.generators[0]):,} params/warp, "
                f"D {count_parameters(trainer.disc):,}; {len(data.real)} real, {len(data.background)} backgrounds, "
                f"{len(data.foreground)} bags; device {rt.device}, world {rt.world_size}, amp {rt.amp_dtype}"
            )
        total = params.total_iters
        ends = [phase_end(params, k) for k in range(params.warps + 1)]
        every = {
            "log": params.log_every,
            "checkpoint": params.checkpoint_every,
            "sample": params.sample_every,
        }
        when = Schedule(every, ends)
        last_path = resume[0] if resume else None
        tick = time.perf_counter()
        with run.progress("ST-GAN", total, trainer.iteration) as show:
            while trainer.iteration < total:
                phase = phase_of(params, trainer.iteration)
                if phase != trainer.phase:
                    trainer.start_phase(phase)
                    run.say(f"phase {phase}: " + ("D only" if phase == 0 else f"training warp {phase}"))
                stats = trainer.step()
                before, trainer.iteration = trainer.iteration, trainer.iteration + 1
                show(trainer.iteration)
                done = when.at_end(before, trainer.iteration)
                if when.due("log", before, trainer.iteration):
                    now = time.perf_counter()
                    run.stats({"iteration": trainer.iteration, "phase": phase, **stats})
                    shown = " ".join(f"{k}={v:.4f}" for k, v in stats.items())
                    run.say(f"it {trainer.iteration}/{total} phase {phase} {shown} ({now - tick:.1f}s)")
                    tick = now
                    overflow(run, trainer.scaler, stats, f"iteration {trainer.iteration}")
                if done:
                    errors = trainer.placement_errors(phase)
                    if errors is not None:
                        run.stats({"iteration": trainer.iteration, "phase": phase, "placement_error": errors})
                        run.say("placement error per warp: " + ", ".join(f"{e:.4f}" for e in errors))
                if when.due("checkpoint", before, trainer.iteration):
                    last_path = trainer.save(phase_done=done) or last_path
                if when.due("sample", before, trainer.iteration):
                    run.on_main(write_phase_samples, trainer, phase, final=done)
        last_path = run.final_checkpoint(last_path, trainer.iteration)
        records = run.records()
        metrics = _metrics(params, trainer, records)
        if run.is_main:
            _write_loss_csv(records, [run.run_dir / "loss.csv"])
            atomic.write_json(run.run_dir / "metrics.json", metrics)
        info = {"run_dir": str(run.run_dir), "checkpoint": str(last_path)}
        run.write_outputs(
            metrics_dir, "stgan", {**metrics, **info}, records, LOSS_COLUMNS, step_key="iteration"
        )
        run.say(f"done: {trainer.iteration} iterations; final checkpoint {last_path}")
        return TrainResult(run.run_dir, last_path, trainer.iteration, metrics)


def overflow(run: Session, scaler: torch.amp.GradScaler, stats: dict[str, float], where: str) -> None:
    """Non-finite losses: fp16 overflow the grad scaler handles (said), else a FloatingPointError."""
    if all(math.isfinite(v) for v in stats.values()):
        return
    if not scaler.is_enabled():
        raise FloatingPointError(f"non-finite losses at {where}: {stats}")
    run.say("fp16 overflow: the grad scaler skipped this step and lowered its scale")


def _metrics(params: StganParams, trainer: StganTrainer, records: list[dict[str, Any]]) -> dict[str, Any]:
    losses = [r for r in records if "loss_d" in r]
    last = losses[-1] if losses else {}
    errors = [r["placement_error"] for r in records if "placement_error" in r]
    metrics: dict[str, Any] = {
        "iterations": trainer.iteration,
        "preset": params.preset,
        "warps": params.warps,
        "generator_params_per_warp": count_parameters(trainer.gens.generators[0]),
        "discriminator_params": count_parameters(trainer.disc),
        **{k: last[k] for k in LOSS_COLUMNS if k in last},
    }
    if errors:
        final = errors[-1]
        metrics["placement_error_p0"] = final[0]
        metrics["placement_error_final"] = final[-1]
        metrics["placement_improvement"] = final[0] / max(final[-1], 1e-12)
    return metrics


def read_stats(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / "stats.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def loss_table(run_dir: Path) -> list[dict[str, str]]:
    with open(Path(run_dir) / "loss.csv") as fh:
        return list(csv.DictReader(fh))
