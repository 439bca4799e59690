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

`StganTrainer` is the project's one training loop's `Trainer` (adgen.training.loop): the loop owns
resume, ticks (every `log_every` iterations a stats record of the last iteration's losses),
checkpoints, samples, the progress bar and the metrics. The phase ends are ends of its schedule, so
each phase closes with a stats record, a placement-error record, samples and a checkpoint.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from adgen import atomic
from adgen.models.stgan import warp
from adgen.models.stgan.config import StganParams
from adgen.models.stgan.data import StganData, as_float, load_dataset
from adgen.models.stgan.history import FakeHistory, FakeRecipes
from adgen.models.stgan.model import Discriminator, WarpGenerator, WarpSequence, count_parameters
from adgen.models.stgan.samples import write_phase_samples
from adgen.stage_metrics import loss_csv_text
from adgen.training import checkpoint, dist, loop, rundir
from adgen.training.loop import TickStats, Trainer, TrainResult
from adgen.training.session import CheckpointKind, Schedule, Session

if TYPE_CHECKING:
    from adgen.models.registry import TrainJob

FORMAT = "adgen-stgan/1"
KIND = CheckpointKind("stgan", "an ST-GAN checkpoint", mark=("format", FORMAT))
LOSS_COLUMNS = ("loss_d", "loss_g", "grad_norm", "w_dist", "dp_norm")


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


class StganTrainer(Trainer):
    """The warps, D, their optimisers and one iteration; `adgen.training.loop` runs it.

    Without a `session` (tests and benchmarks of the step alone) it only steps, in the phase set
    with `start_phase`."""

    name, label, kind, unit, step_key = "stgan", "ST-GAN", KIND, "iteration", "iteration"
    loss_columns = LOSS_COLUMNS
    restore_rng = False  # every rank's own RNG states are in the checkpoint: load_state_dict sets them

    def __init__(
        self,
        params: StganParams,
        data: StganData,
        run_dir: Path,
        runtime: dist.Runtime,
        session: Session | None = None,
    ):
        self.params, self.rt, self.session = params, runtime, session
        self.run_dir = Path(run_dir)
        self.data = data.to(runtime.device)
        self.total = params.total_iters
        self.keep_checkpoints = params.keep_checkpoints
        every = {
            "tick": params.log_every,
            "placement": 0,  # at the phase ends only
            "sample": params.sample_every,
            "checkpoint": params.checkpoint_every,
        }
        self.schedule = Schedule(every, [phase_end(params, k) for k in range(params.warps + 1)])
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
        self.tick_seconds = 0.0

    @property
    def steps(self) -> int:
        return self.iteration

    def say(self, line: str) -> None:
        if self.session is not None:
            self.session.say(line)

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
        """One iteration; the next phase starts when the current one has all its iterations."""
        p = self.params
        if self.phase < 0 or self.iteration >= phase_end(p, self.phase):
            phase = phase_of(p, self.iteration)
            if phase != self.phase:
                self.start_phase(phase)
                self.say(f"phase {phase}: " + ("D only" if phase == 0 else f"training warp {phase}"))
        bg_idx, fg_idx, real_idx = self.data.draw_indices(p.batch)
        if self.phase == 0:
            stats = self._d_only(bg_idx, fg_idx, real_idx)
        else:
            stats = self._warp_iteration(bg_idx, fg_idx, real_idx)
        self.iteration += 1
        return stats

    def _d_only(self, bg_idx: torch.Tensor, fg_idx: torch.Tensor, real_idx: torch.Tensor) -> dict[str, float]:
        """D-only pre-training: bags at the centre, a fresh p0 and background draw for each D step."""
        p = self.params
        stats: dict[str, float] = {}
        for _ in range(p.d_steps):
            with torch.no_grad():
                fake, _, _ = self._g_pass(bg_idx, fg_idx, p.pert_fg_d_only, 0)
            stats = self._d_step(fake, real_idx)
        return stats

    def _warp_iteration(
        self, bg_idx: torch.Tensor, fg_idx: torch.Tensor, real_idx: torch.Tensor
    ) -> dict[str, float]:
        p = self.params
        stats: dict[str, float] = {}
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
    def state_dict(self) -> dict[str, Any]:
        per_rank = self.rt.gather(  # every rank takes part; rank 0 writes them all
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

    def load_state_dict(self, state: dict[str, Any]) -> None:
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

    def checkpointed(self, path: Path) -> None:
        """A phase's last checkpoint is also kept as warp-<phase>.pt, for the compositor."""
        if self.iteration == phase_end(self.params, self.phase):
            with atomic.atomic_path(self.run_dir / f"warp-{self.phase}.pt") as tmp:
                shutil.copyfile(path, tmp)

    # --- what the loop records ---------------------------------------------------------------------
    def introduce(self) -> str:
        p, rt, data = self.params, self.rt, self.data
        return (
            f"ST-GAN {p.preset}: {p.height}x{p.width} {p.warp_type}, {p.warps} warps, "
            f"G {count_parameters(self.gens.generators[0]):,} params/warp, "
            f"D {count_parameters(self.disc):,}; {len(data.real)} real, {len(data.background)} backgrounds, "
            f"{len(data.foreground)} bags; device {rt.device}, world {rt.world_size}, amp {rt.amp_dtype}"
        )

    def check(self, stats: Mapping[str, float]) -> None:
        overflow(self.session, self.scaler, stats, f"iteration {self.iteration}")

    def record(self, tick: TickStats) -> dict[str, Any]:
        """The losses of the tick's last iteration (ST-GAN's records, as the official code logs)."""
        self.tick_seconds = tick.seconds
        return {"iteration": self.iteration, "phase": self.phase, **tick.last}

    def log_line(self, record: Mapping[str, Any]) -> str:
        shown = " ".join(f"{k}={v:.4f}" for k, v in record.items() if k not in ("iteration", "phase"))
        return f"it {self.iteration}/{self.total} phase {self.phase} {shown} ({self.tick_seconds:.1f}s)"

    def periodic(self, what: str, before: float, after: float) -> None:
        if what == "placement":
            errors = self.placement_errors(self.phase)
            if errors is not None and self.session is not None:
                self.session.stats(
                    {"iteration": self.iteration, "phase": self.phase, "placement_error": errors}
                )
                self.session.say("placement error per warp: " + ", ".join(f"{e:.4f}" for e in errors))
        elif what == "sample" and self.session is not None:
            final = self.schedule.at_end(before, after)
            self.session.on_main(write_phase_samples, self, self.phase, final=final)

    def final_values(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        p = self.params
        losses = [r for r in records if "loss_d" in r]
        last = losses[-1] if losses else {}
        errors = [r["placement_error"] for r in records if "placement_error" in r]
        values: dict[str, Any] = {
            "iterations": self.iteration,
            "preset": p.preset,
            "warps": p.warps,
            "generator_params_per_warp": count_parameters(self.gens.generators[0]),
            "discriminator_params": count_parameters(self.disc),
            **{k: last[k] for k in LOSS_COLUMNS if k in last},
        }
        if errors:
            final = errors[-1]
            values["placement_error_p0"] = final[0]
            values["placement_error_final"] = final[-1]
            values["placement_improvement"] = final[0] / max(final[-1], 1e-12)
        return values

    def wrap_up(self, result: TrainResult, records: list[dict[str, Any]]) -> None:
        """The run dir keeps its own loss.csv and metrics.json (what a person opens first)."""
        atomic.write_text(self.run_dir / "loss.csv", loss_csv_text(records, LOSS_COLUMNS, "iteration"))
        atomic.write_json(self.run_dir / "metrics.json", result.values)
        self.say(f"done: {self.iteration} iterations; final checkpoint {result.checkpoint}")


def overflow(
    session: Session | None, scaler: torch.amp.GradScaler, stats: Mapping[str, float], where: str
) -> None:
    """Non-finite losses: fp16 overflow the grad scaler handles (said), else a FloatingPointError."""
    if all(math.isfinite(v) for v in stats.values()):
        return
    if not scaler.is_enabled():
        raise FloatingPointError(f"non-finite losses at {where}: {dict(stats)}")
    if session is not None:
        session.say("fp16 overflow: the grad scaler skipped this step and lowered its scale")


def run(
    params: StganParams,
    run_dir: Path,
    metrics_dir: Path | None = None,
    data_root: Path | None = None,
    echo: bool = True,
) -> TrainResult:
    """Train (or resume, when run_dir holds a checkpoint) ST-GAN: `params.index` relative to
    `data_root` (the project); writes `<metrics_dir>/stgan.json` when given."""
    index = Path(params.index) if data_root is None else Path(data_root) / params.index

    def build(session: Session) -> StganTrainer:
        session.require_same_options(params, data_root)
        options = {"model": "stgan", "index": str(index), "params": params.model_dump(mode="json")}
        session.write_options(rundir.portable(options, data_root))  # a moved workspace resumes
        data = load_dataset(index, params.height, params.width, params.fg_scale, data_root)
        return StganTrainer(params, data, session.run_dir, session.rt, session)

    return loop.run_with(build, run_dir, params, echo=echo, metrics_dir=metrics_dir)


def train(job: TrainJob) -> TrainResult:
    """`adgen train stgan`: the job's options, run dir and metrics dir, paths from the project root."""
    return run(job.options, job.run_dir, job.metrics_dir, data_root=job.params.root)
