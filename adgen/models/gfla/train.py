"""Train GFLA in the official two stages, resumable step for step.

Stage 1 (steps 0 … flow_steps): the flow estimator alone, 20·correctness + 0.01·regularisation.
Stage 2 (the next `steps` steps): the whole generator against the discriminator, D step then G step,
5·L1 + 5·correctness + 2·LSGAN + 0.0025·regularisation + 500·style + 0.5·content.
Adam betas (0, 0.999); G 1e-4, D 1e-5. `GflaTrainer` is the step; `adgen.training.loop` runs it. The
run dir holds training_options.json, log.txt, stats.jsonl (the losses of every `log_every`-th step
with its stage), loss.csv (the same, rewritten at each checkpoint), samples/ and checkpoints; a rerun
on the same run dir resumes from the newest checkpoint with the same weights, optimiser moments, RNG
states and batch order (the batches of a step follow from the step number alone), so N steps in one
go and N steps in two sittings give identical weights (on CPU). AMP on CUDA; DDP under torchrun via
adgen.training.dist.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from adgen import atomic
from adgen.errors import UserError
from adgen.models.gfla import losses
from adgen.models.gfla.config import LOSS_COLUMNS, GflaParams
from adgen.models.gfla.data import GflaPairs, StepBatches, tensor_to_image
from adgen.models.gfla.model import build, count_parameters
from adgen.models.gfla.vgg import load_vgg19
from adgen.stage_metrics import loss_csv_text
from adgen.training import checkpoint, dist, loop
from adgen.training.loop import StagedTrainer, TrainResult
from adgen.training.session import CheckpointKind, Schedule, Session

MODEL = "gfla"
KIND = CheckpointKind(MODEL, "a GFLA checkpoint", keys=("g", "d", "params"))


def _adam(params, lr: float, p: GflaParams) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=lr, betas=(p.adam_beta1, p.adam_beta2))


def _ddp(rt: dist.Runtime, module: torch.nn.Module, **kwargs) -> torch.nn.Module:
    """`rt.wrap` with DDP options (the same device placement)."""
    if not rt.distributed:
        return module
    ids = [rt.local_rank] if rt.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids, **kwargs)


def warp_image(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """The source image moved by a (coarser) flow field, bilinearly: for sample sheets only."""
    b, _, h, w = flow.shape
    small = F.interpolate(image, size=(h, w), mode="bilinear", align_corners=False)
    xs = torch.arange(w, dtype=flow.dtype, device=flow.device).view(1, 1, w)
    ys = torch.arange(h, dtype=flow.dtype, device=flow.device).view(1, h, 1)
    gx = (xs + flow[:, 0]) * (2.0 / max(w - 1, 1)) - 1
    gy = (ys + flow[:, 1]) * (2.0 / max(h - 1, 1)) - 1
    warped = F.grid_sample(small, torch.stack((gx, gy), -1), align_corners=True, padding_mode="border")
    return F.interpolate(warped, size=image.shape[2:], mode="nearest")


def _sheet(rows: list[list[torch.Tensor]], path: Path) -> None:
    """Grid PNG: one row per example, columns as given (each a (3, H, W) tensor in [-1, 1])."""
    grid = torch.cat([torch.cat(r, dim=2) for r in rows], dim=1)
    buf = io.BytesIO()
    tensor_to_image(grid).save(buf, format="PNG")
    atomic.write_bytes(path, buf.getvalue())


@torch.no_grad()
def _sample_sheet(src: torch.Tensor, tgt: torch.Tensor, shown: torch.Tensor, stage: int, path: Path) -> None:
    """source | target | the source moved by the flow (stage 1) or the generated image (stage 2)."""
    n = min(4, src.shape[0])
    shown = warp_image(src[:n], shown[:n].float()) if stage == 1 else shown[:n].float()
    _sheet([[src[i], tgt[i], shown[i]] for i in range(n)], path)


def preflight(p: GflaParams, dataset: str | Path) -> None:
    """Fail with one line before any run dir is made: VGG19 weights and the dataset must be there."""
    from adgen.models.gfla.vgg import vgg19_weights_file

    vgg19_weights_file(p.vgg19_weights)
    GflaPairs(dataset, "train", p)


class GflaTrainer(StagedTrainer):
    """Generator, discriminator, VGG19 (the perceptual losses), their optimisers and one step of
    either stage; `adgen.training.loop` runs it (records: `StagedTrainer`'s)."""

    name, label, kind, unit = MODEL, "GFLA training (steps)", KIND, "step"
    loss_columns = ("stage", *LOSS_COLUMNS)  # the loss CSVs: step, stage, then every loss

    def __init__(self, p: GflaParams, session: Session, data: GflaPairs):
        rt = session.rt
        if p.batch % rt.world_size:
            raise UserError(
                f"train.gfla.batch {p.batch} is not divisible by the {rt.world_size} DDP processes"
            )
        self.p, self.rt, self.session, self.data = p, rt, session, data
        self.total = p.flow_steps + p.steps
        self.stage_ends = (p.flow_steps,)
        self.keep_checkpoints = p.keep_checkpoints
        every = {"tick": p.log_every, "sample": p.sample_every, "checkpoint": p.checkpoint_every}
        self.schedule = Schedule(every, [self.total])
        self.g, self.d = build(p)
        self.g.to(rt.device)
        self.d.to(rt.device)
        self.vgg = load_vgg19(p.vgg19_weights).to(rt.device)
        self.opt_flow = _adam(self.g.flow_net.parameters(), p.lr_flow, p)
        self.opt_g = _adam(self.g.parameters(), p.lr_g, p)
        self.opt_d = _adam(self.d.parameters(), p.lr_d, p)
        self.scalers = {name: rt.grad_scaler() for name in ("flow", "g", "d")}
        self.kernels = (p.attn_kernel_h8, p.attn_kernel_h4)
        self.step_idx = 0
        self.last: dict[str, float] = {}  # this sitting's last step's losses
        self.shown: tuple[torch.Tensor, ...] | None = None  # the last step's src, tgt, and what it made

    @property
    def steps(self) -> int:
        return self.step_idx

    def introduce(self) -> str:
        p = self.p
        return (
            f"GFLA {p.preset}: {p.height}x{p.width}, G {count_parameters(self.g):,} params, "
            f"D {count_parameters(self.d):,}; stage 1 {p.flow_steps} steps, stage 2 {p.steps} steps"
        )

    def begin(self) -> None:
        """DDP wrappers over the (resumed) weights, and the batches from the step reached on."""
        p, rt = self.p, self.rt
        # stage 1 does not use the occlusion-mask heads, so its DDP wrapper must allow unused parameters
        self.flow_run = _ddp(rt, self.g.flow_net, find_unused_parameters=True)
        self.g_run = rt.wrap(self.g)
        self.d_run = rt.wrap(self.d)
        sampler = StepBatches(
            len(self.data), p.batch, p.seed, self.step_idx, self.total, rt.rank, rt.world_size
        )
        loader = torch.utils.data.DataLoader(
            self.data, batch_sampler=sampler, num_workers=p.workers, pin_memory=rt.device.type == "cuda"
        )
        self.g.train()
        self.d.train()
        self.batches = iter(loader)

    def step(self) -> dict[str, float]:
        batch = next(self.batches)
        src, src_pose, tgt, tgt_pose = (
            batch[k].to(self.rt.device, non_blocking=True) for k in ("P1", "BP1", "P2", "BP2")
        )
        if self.step_idx < self.p.flow_steps:
            self.last, shown = self._flow_step(src, src_pose, tgt, tgt_pose)
        else:
            self.last, shown = self._full_step(src, src_pose, tgt, tgt_pose)
        self.step_idx += 1
        self.shown = (src, tgt, shown.detach())
        return self.last

    def _update(self, name: str, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        self.scalers[name].scale(loss).backward()
        self.scalers[name].step(opt)
        self.scalers[name].update()

    def _flow_step(self, src, src_pose, tgt, tgt_pose) -> tuple[dict[str, float], torch.Tensor]:
        """Stage 1: the flow estimator alone; shows its finest flow."""
        p = self.p
        with self.rt.autocast():
            flows, _ = self.flow_run(src, src_pose, tgt_pose)
            corr = losses.sampling_correctness(self.vgg, tgt, src, [f.float() for f in flows])
            reg = losses.flow_regularization([f.float() for f in flows], self.kernels)
            loss = p.flow_lambda_correct * corr + p.flow_lambda_regularization * reg
        self._update("flow", self.opt_flow, loss)
        return {"correctness": corr.item(), "regularization": reg.item(), "flow_total": loss.item()}, flows[
            -1
        ]

    def _full_step(self, src, src_pose, tgt, tgt_pose) -> tuple[dict[str, float], torch.Tensor]:
        """Stage 2: D step, then the whole generator; shows the generated image."""
        p, rt, d, vgg = self.p, self.rt, self.d, self.vgg
        with rt.autocast():
            image, flows, _ = self.g_run(src, src_pose, tgt_pose)
        # discriminator: real vs the generated image (one forward over both halves)
        d.requires_grad_(True)
        with rt.autocast():
            d_out = self.d_run(torch.cat((tgt, image.detach()), dim=0)).float()
            d_real, d_fake = d_out.chunk(2)
            loss_d = losses.lsgan_d(d_real, d_fake)
        self._update("d", self.opt_d, loss_d)
        # generator
        d.requires_grad_(False)
        with rt.autocast():
            flows32 = [f.float() for f in flows]
            image32 = image.float()
            l1 = losses.l1(image32, tgt)
            corr = losses.sampling_correctness(vgg, tgt, src, flows32)
            adv = losses.lsgan_g(d(image).float())
            reg = losses.flow_regularization(flows32, self.kernels)
            content, style = losses.perceptual(vgg, image32, tgt)
            loss_g = (
                p.lambda_rec * l1
                + p.lambda_correct * corr
                + p.lambda_g * adv
                + p.lambda_regularization * reg
                + p.lambda_style * style
                + p.lambda_content * content
            )
        self._update("g", self.opt_g, loss_g)
        d.requires_grad_(True)
        return {
            "l1": l1.item(),
            "correctness": corr.item(),
            "adversarial": adv.item(),
            "regularization": reg.item(),
            "style": style.item(),
            "content": content.item(),
            "g_total": loss_g.item(),
            "d": loss_d.item(),
        }, image

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step_idx,
            "stage": self.stage,
            "g": self.g.state_dict(),
            "d": self.d.state_dict(),
            "opt_flow": self.opt_flow.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            **{f"scaler_{k}": s.state_dict() for k, s in self.scalers.items()},
            "params": self.p.model_dump(mode="json"),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.g.load_state_dict(state["g"])
        self.d.load_state_dict(state["d"])
        self.opt_flow.load_state_dict(state["opt_flow"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        for name, scaler in self.scalers.items():
            scaler.load_state_dict(state[f"scaler_{name}"])
        self.step_idx = int(state["step"])

    # --- what the loop records -----------------------------------------------------------------
    def periodic(self, what: str, before: float, after: float) -> None:
        if what == "sample" and self.shown is not None:
            path = self.session.run_dir / "samples" / f"step-{self.step_idx:09d}.png"
            self.session.on_main(_sample_sheet, *self.shown, self.stage, path)

    def checkpointed(self, path: Path) -> None:
        """loss.csv in the run dir: the loss log so far, beside the checkpoint it leads to."""
        records = self.session.records()
        atomic.write_text(self.session.run_dir / "loss.csv", loss_csv_text(records, self.loss_columns))

    def final_values(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "step": self.step_idx,
            "stage": self.stage,
            "preset": self.p.preset,
            "generator_parameters": count_parameters(self.g),
            "discriminator_parameters": count_parameters(self.d),
            "final": self.last or (records[-1] if records else {}),
        }


def train(job, *, stop_at: int | None = None, echo: bool = True) -> TrainResult:
    """Train (or resume) GFLA on `job.options.dataset` in `job.run_dir` until both stages are done;
    `stop_at` ends it early at that step (tests, slices). Writes `<metrics>/gfla.json`."""
    p: GflaParams = job.options

    def make(run: Session) -> GflaTrainer:
        run.write_options({"model": MODEL, **p.model_dump(mode="json")})
        data = GflaPairs(p.dataset, "train", p)
        checkpoint.seed_everything(p.seed + run.rt.rank)
        return GflaTrainer(p, run, data)

    return loop.run_with(make, job.run_dir, p, echo=echo, metrics_dir=job.metrics_dir, stop_at=stop_at)
