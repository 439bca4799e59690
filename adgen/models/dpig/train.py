"""Train DPIG in its two stages, resumable step for step.

Stage I (steps 0 … stage1_steps-1), per step on one batch of people:
  (a) appearance: encoder + pose-conditioned decoder reconstruct the image from its own pose,
      against the image discriminator: D on [real, fake] (sigmoid cross-entropy, halved), then
      G = GAN + 20·L1; Adam β1 0.5;
  (b) pose: the FC auto-encoder reconstructs the 54-d pose vector, 20·MSE; Adam β1 0.5.
Stage II (the next stage2_steps steps), stage I frozen: each mapper (noise → appearance embedding,
noise → pose embedding; Market also noise → background embedding) against its WGAN critic on the
embeddings of real people: `critic_steps` critic updates (each on a fresh batch, weights clipped to
±clip) then one mapper update; RMSProp.
The learning rate halves every lr_half_every steps of a stage. The run dir holds
training_options.json, log.txt, stats.jsonl, samples/ and checkpoints; a rerun on the same run dir
resumes from the newest checkpoint with the same weights, optimiser moments, RNG states and batch
order, so N steps in one go and N steps in two sittings give identical weights (on CPU). AMP on
CUDA; DDP under torchrun via adgen.training.dist.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from adgen import atomic
from adgen.errors import UserError
from adgen.models.dpig import model as M
from adgen.models.dpig.config import DpigParams
from adgen.models.dpig.data import (
    DpigPeople,
    StepBatches,
    collect_people,
    heatmaps,
    keypoints_from_vector,
    pose_vector,
    tensor_to_image,
)
from adgen.models.dpig.spec import LOSS_COLUMNS
from adgen.training import checkpoint, dist, loop
from adgen.training.loop import StagedTrainer, TrainResult
from adgen.training.session import CheckpointKind, Schedule, Session

MODEL = "dpig"
STAGE_I_NETS = ("encoder", "decoder", "image_d", "pose_encoder", "pose_decoder")
KIND = CheckpointKind(MODEL, "a DPIG checkpoint", mark=("model", MODEL))


def build(p: DpigParams, names: tuple[str, ...] | None = None) -> dict[str, nn.Module]:
    """Every network of both stages (or only `names`), by name; also what `--dry-run` counts."""
    fg_dim = 7 * p.part_dim
    makers = {
        "encoder": lambda: M.AppearanceEncoder(
            p.height, p.width, p.hidden, p.encoder_levels, p.roi, 7, p.part_dim, p.background_dim
        ),
        "decoder": lambda: M.PoseConditionedDecoder(
            p.appearance_dim, p.height, p.width, p.hidden, p.decoder_levels, p.bottleneck
        ),
        "image_d": lambda: M.ImageDiscriminator(p.height, p.width, p.d_dim),
        "pose_encoder": lambda: M.PoseEncoder(54, p.pose_hidden, p.pose_blocks, p.pose_dim),
        "pose_decoder": lambda: M.PoseDecoder(p.pose_dim, p.pose_hidden, p.pose_blocks),
        "app_mapper": lambda: M.GaussianMapper(fg_dim, p.mapper_hidden, p.mapper_blocks),
        "app_critic": lambda: M.EmbeddingCritic(fg_dim, p.critic_hidden, p.critic_layers),
        "pose_mapper": lambda: M.GaussianMapper(p.pose_dim, p.mapper_hidden, p.mapper_blocks),
        "pose_critic": lambda: M.EmbeddingCritic(p.pose_dim, p.critic_hidden, p.critic_layers),
    }
    if p.background_dim:
        makers["bg_mapper"] = lambda: M.GaussianMapper(
            p.background_dim, p.background_mapper_hidden, p.mapper_blocks
        )
        makers["bg_critic"] = lambda: M.EmbeddingCritic(p.background_dim, p.critic_hidden, p.critic_layers)
    return {name: make() for name, make in makers.items() if names is None or name in names}


def describe(p: DpigParams) -> dict[str, Any]:
    """Resolved options and parameter counts (`--dry-run`)."""
    return {
        "options": p.model_dump(mode="json"),
        "parameters": {name: M.count_parameters(net) for name, net in build(p).items()},
    }


class Painter(nn.Module):
    """Stage I(a) as one module (one DDP wrapper): image + its pose → appearance → repainted image."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, image, boxes, visibility, fg_mask, pose_maps):
        return self.decoder(self.encoder(image, boxes, visibility, fg_mask), pose_maps)


class PoseAutoencoder(nn.Module):
    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, vec):
        return self.decoder(self.encoder(vec))


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _lr_at(p: DpigParams, step: int) -> float:
    stage_step = step if step < p.stage1_steps else step - p.stage1_steps
    return p.lr * 0.5 ** (stage_step // p.lr_half_every)


def _sheet(rows: list[list[torch.Tensor]], path: Path) -> None:
    """Grid PNG: one row per example, columns as given (each a (3, H, W) tensor in [-1, 1])."""
    grid = torch.cat([torch.cat(r, dim=2) for r in rows], dim=1)
    buf = io.BytesIO()
    tensor_to_image(grid).save(buf, format="PNG")
    atomic.write_bytes(path, buf.getvalue())


def _pose_picture(maps: torch.Tensor) -> torch.Tensor:
    """(18, H, W) heatmaps → (3, H, W) grey picture of all disks."""
    return maps.max(dim=0).values.expand(3, -1, -1)


def preflight(job) -> None:
    """Fail with one line before any run dir is made: there must be people with poses to learn from."""
    p: DpigParams = job.options
    collect_people(job.params, list(p.sources), p.min_keypoints)


def run_name(p: DpigParams) -> str:
    return f"dpig-{p.height}x{p.width}-{p.preset}"


class DpigTrainer(StagedTrainer):
    """All networks, optimisers and grad scalers of a run, and one training step of either stage;
    `adgen.training.loop` runs it.

    `stage_one(batch)` and `stage_two(batches)` are the whole per-step work (the benchmark times
    them on their own, on a trainer made without a `session`); `step()` draws the step's batches
    and runs the stage the step is in (records: `StagedTrainer`'s).
    """

    name, label, kind, unit = MODEL, "training DPIG", KIND, "step"
    loss_columns = LOSS_COLUMNS

    def __init__(
        self, p: DpigParams, rt: dist.Runtime, session: Session | None = None, data: DpigPeople | None = None
    ):
        self.p, self.rt, self.session, self.data = p, rt, session, data
        self.total = p.stage1_steps + p.stage2_steps
        self.stage_ends = (p.stage1_steps,)
        self.keep_checkpoints = p.keep_checkpoints
        every = {"tick": p.log_every, "sample": p.sample_every, "checkpoint": p.checkpoint_every}
        self.schedule = Schedule(every, [self.total])
        self.nets = build(p)
        for net in self.nets.values():
            net.to(rt.device)
        nets = self.nets
        painter = Painter(nets["encoder"], nets["decoder"])
        pose_ae = PoseAutoencoder(nets["pose_encoder"], nets["pose_decoder"])
        betas = (p.adam_beta1, p.adam_beta2)
        self.opts: dict[str, torch.optim.Optimizer] = {
            "g": torch.optim.Adam(painter.parameters(), lr=p.lr, betas=betas),
            "d": torch.optim.Adam(nets["image_d"].parameters(), lr=p.lr, betas=betas),
            "pose": torch.optim.Adam(pose_ae.parameters(), lr=p.lr, betas=betas),
        }
        self.mapped = [m for m in ("app", "bg", "pose") if f"{m}_mapper" in nets]
        for m in self.mapped:
            self.opts[f"{m}_mapper"] = torch.optim.RMSprop(nets[f"{m}_mapper"].parameters(), lr=p.lr)
            self.opts[f"{m}_critic"] = torch.optim.RMSprop(nets[f"{m}_critic"].parameters(), lr=p.lr)
        self.scalers = {name: rt.grad_scaler() for name in self.opts}
        self.painter_run, self.pose_run = rt.wrap(painter), rt.wrap(pose_ae)
        self.d_run = rt.wrap(nets["image_d"])
        self.runs = {n: rt.wrap(nets[n]) for m in self.mapped for n in (f"{m}_mapper", f"{m}_critic")}
        self.step_idx = 0
        self.last: dict[str, float] = {}  # this sitting's last step's losses
        self.batch: dict[str, torch.Tensor] | None = None  # the last stage-I batch (sample grids)
        self.sample_noise = torch.Generator().manual_seed(p.seed + 12345)  # fixed people for the grids

    @property
    def steps(self) -> int:
        return self.step_idx

    def set_lr(self, step: int) -> None:
        for opt in self.opts.values():
            for group in opt.param_groups:
                group["lr"] = _lr_at(self.p, step)

    def _update(self, name: str, loss: torch.Tensor) -> None:
        self.opts[name].zero_grad(set_to_none=True)
        self.scalers[name].scale(loss).backward()
        self.scalers[name].step(self.opts[name])
        self.scalers[name].update()

    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.rt.device, non_blocking=True) for k, v in batch.items()}

    def introduce(self) -> str:
        p = self.p
        counts = ", ".join(f"{k} {M.count_parameters(v):,}" for k, v in self.nets.items())
        return (
            f"DPIG {p.preset}: {p.height}x{p.width}, {len(self.data)} people; stage I {p.stage1_steps} steps, "
            f"stage II {p.stage2_steps} steps; parameters: {counts}"
        )

    def begin(self) -> None:
        """The batches from the step reached on (a pure function of the step number)."""
        p, rt, data, step = self.p, self.rt, self.data, self.step_idx
        batches = StepBatches(
            len(data),
            p.seed,
            p.stage1_steps,
            p.batch,
            p.batch_ii,
            p.critic_steps,
            step,
            self.total,
            rt.rank,
            rt.world_size,
        )
        loader = torch.utils.data.DataLoader(
            data,
            batch_sampler=batches,
            num_workers=p.workers,
            pin_memory=rt.device.type == "cuda",
            generator=torch.Generator().manual_seed(p.seed),  # the global RNG stays the run's own
        )
        self.feed = iter(loader)

    def step(self) -> dict[str, float]:
        p = self.p
        self.set_lr(self.step_idx)
        if self.step_idx < p.stage1_steps:
            self.batch = self.to_device(next(self.feed))
            self.last = self.stage_one(self.batch)
        else:
            self.batch = None
            self.last = self.stage_two([self.to_device(next(self.feed)) for _ in range(p.critic_steps)])
        self.step_idx += 1
        return self.last

    def stage_one(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """(a) D then encoder + decoder on the image, (b) the pose auto-encoder; returns the losses."""
        p, rt, d = self.p, self.rt, self.nets["image_d"]
        real, kp = batch["image"], batch["keypoints"]
        maps = heatmaps(kp, p.height, p.width, p.heatmap_radius)
        with rt.autocast():
            fake = self.painter_run(real, batch["boxes"], batch["visibility"], batch["fg_mask"], maps)
        # the discriminator sees the pair, as released: [real, fake] in one batch-norm batch
        d.requires_grad_(True)
        with rt.autocast():
            d_real, d_fake = self.d_run(torch.cat([real, fake.detach()], 0)).float().chunk(2)
            loss_d = (_bce(d_fake, 0.0) + _bce(d_real, 1.0)) / 2
        self._update("d", loss_d)
        d.requires_grad_(False)
        with rt.autocast():
            adv = _bce(d(torch.cat([real, fake], 0)).float().chunk(2)[1], 1.0)
            l1 = (fake.float() - real).abs().mean()
            loss_g = adv + p.l1_weight * l1
        self._update("g", loss_g)
        d.requires_grad_(True)
        vec = pose_vector(kp)
        with rt.autocast():
            mse = F.mse_loss(self.pose_run(vec).float(), vec)
        self._update("pose", p.pose_weight * mse)
        return {"app_d": loss_d.item(), "app_g": adv.item(), "l1": l1.item(), "pose_mse": mse.item()}

    def real_embeddings(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The frozen stage-I encoders' embeddings of real people: what the critics learn as real."""
        nets = self.nets
        with torch.no_grad(), self.rt.autocast():
            app = nets["encoder"](
                batch["image"], batch["boxes"], batch["visibility"], batch["fg_mask"]
            ).float()
            posed = nets["pose_encoder"](pose_vector(batch["keypoints"])).float()
        fg = 7 * self.p.part_dim
        return {"app": app[:, :fg], "bg": app[:, fg:], "pose": posed}

    def stage_two(self, batches: list[dict[str, torch.Tensor]]) -> dict[str, float]:
        """One critic update per batch (weights clipped), then one update of each mapper."""
        p, rt, nets = self.p, self.rt, self.nets
        for name in STAGE_I_NETS:
            nets[name].eval()
        critic_loss: dict[str, torch.Tensor] = {}
        for batch in batches:
            real = self.real_embeddings(batch)
            for m in self.mapped:
                mapper = nets[f"{m}_mapper"]
                with torch.no_grad(), rt.autocast():
                    fake = mapper(mapper.noise(real[m].shape[0], device=rt.device)).float()
                with rt.autocast():
                    s_real, s_fake = self.runs[f"{m}_critic"](torch.cat([real[m], fake], 0)).float().chunk(2)
                    loss_c = s_fake.mean() - s_real.mean()
                self._update(f"{m}_critic", loss_c)
                nets[f"{m}_critic"].clip_(p.clip)
                critic_loss[m] = loss_c
        last: dict[str, float] = {}
        for m in self.mapped:
            mapper, critic = nets[f"{m}_mapper"], nets[f"{m}_critic"]
            critic.requires_grad_(False)
            with rt.autocast():
                fake = self.runs[f"{m}_mapper"](mapper.noise(p.batch_ii // rt.world_size, device=rt.device))
                loss_m = -critic(fake).float().mean()
            self._update(f"{m}_mapper", loss_m)
            critic.requires_grad_(True)
            last[f"{m}_critic"] = critic_loss[m].item()
            last[f"{m}_mapper"] = loss_m.item()
        return last

    def state_dict(self) -> dict[str, Any]:
        """Tensors, numbers and strings only (a weights_only load reads it)."""
        return {
            "model": MODEL,
            "step": self.step_idx,
            "stage": self.stage,
            "nets": {k: v.state_dict() for k, v in self.nets.items()},
            "opts": {k: v.state_dict() for k, v in self.opts.items()},
            "scalers": {k: v.state_dict() for k, v in self.scalers.items()},
            "params": self.p.model_dump(mode="json"),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, net in self.nets.items():
            net.load_state_dict(state["nets"][name])
        for name, opt in self.opts.items():
            opt.load_state_dict(state["opts"][name])
        for name, scaler in self.scalers.items():
            scaler.load_state_dict(state["scalers"][name])
        self.step_idx = int(state["step"])

    # --- what the loop records -----------------------------------------------------------------
    def periodic(self, what: str, before: float, after: float) -> None:
        if what == "sample":
            args = (self.nets, self.p, self.stage, self.batch, self.sample_noise)
            self.session.on_main(_write_samples, *args, self.session.run_dir, self.step_idx, self.rt)

    def final_values(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "step": self.step_idx,
            "stage": self.stage,
            "people": len(self.data),
            "parameters": {k: M.count_parameters(v) for k, v in self.nets.items()},
            "final": self.last or (records[-1] if records else {}),
            "preset": self.p.preset,
        }


def train(job, *, stop_at: int | None = None, echo: bool = True) -> TrainResult:
    """Train (or resume) DPIG in `job.run_dir` until both stages are done; `stop_at` ends it early at
    that step (tests, slices). Writes `<metrics>/dpig.json`."""
    p: DpigParams = job.options

    def make(run: Session) -> DpigTrainer:
        run.write_options({"model": MODEL, **p.model_dump(mode="json")})
        for b in (p.batch, p.batch_ii):
            if b % run.rt.world_size:
                raise UserError(
                    f"train.dpig: batch {b} is not divisible by the {run.rt.world_size} DDP processes"
                )
        people = collect_people(job.params, list(p.sources), p.min_keypoints)
        data = DpigPeople(people, p.height, p.width)
        checkpoint.seed_everything(p.seed + run.rt.rank)
        return DpigTrainer(p, run.rt, run, data)

    return loop.run_with(make, job.run_dir, p, echo=echo, metrics_dir=job.metrics_dir, stop_at=stop_at)


@torch.no_grad()
def _write_samples(nets, p: DpigParams, stage: int, batch, noise_gen, run_dir: Path, step: int, rt) -> None:
    """Stage I: real | its pose | repainted. Stage II: new people (appearance mapper) in sampled poses
    (pose mapper → pose decoder), the same noise at every step so the grids read as a film."""
    path = run_dir / "samples" / f"step-{step:09d}.png"
    was = {k: n.training for k, n in nets.items()}
    for n in nets.values():
        n.eval()
    try:
        if stage == 1 and batch is not None:
            k = min(4, batch["image"].shape[0])
            maps = heatmaps(batch["keypoints"][:k], p.height, p.width, p.heatmap_radius)
            with rt.autocast():
                emb = nets["encoder"](
                    batch["image"][:k], batch["boxes"][:k], batch["visibility"][:k], batch["fg_mask"][:k]
                )
                fake = nets["decoder"](emb, maps).float()
            rows = [[batch["image"][i], _pose_picture(maps[i]), fake[i]] for i in range(k)]
        else:
            k = 4
            gen = torch.Generator().manual_seed(noise_gen.initial_seed())
            pose_noise = nets["pose_mapper"].noise(k, gen).to(rt.device)
            kp = keypoints_from_vector(nets["pose_decoder"](nets["pose_mapper"](pose_noise)))
            maps = heatmaps(kp, p.height, p.width, p.heatmap_radius)
            emb = [nets["app_mapper"](nets["app_mapper"].noise(k, gen).to(rt.device))]
            if "bg_mapper" in nets:
                emb.append(nets["bg_mapper"](nets["bg_mapper"].noise(k, gen).to(rt.device)))
            emb = torch.cat(emb, 1)
            rows = []
            for i in range(k):  # a row per sampled pose, a column per sampled person
                people = nets["decoder"](emb, maps[i : i + 1].expand(k, -1, -1, -1)).float()
                rows.append([_pose_picture(maps[i])] + list(people))
        _sheet([[t.float().cpu() for t in r] for r in rows], path)
    finally:
        for k_, n in nets.items():
            n.train(was[k_])
