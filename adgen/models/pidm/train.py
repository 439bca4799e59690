"""Train PIDM: one step is the official one, resumable step for step.

A step (official train.py): the batch's pairs are used both ways (source → target and target →
source), each image gets a uniform timestep t and Gaussian noise, the source is dropped (zeros, the
null appearance) with probability `style_drop_prob` and the pose with `pose_drop_prob` (the paper's
dropout; the official code drops only the source), the loss is MSE(ε) + L_vb (adgen/models/pidm/
diffusion.py), gradients clipped to norm 1, Adam at `lr` after a linear warm-up, and the EMA copy
follows the weights with decay `ema_decay` (a plain copy during the warm-up, as the official code).

The run dir holds training_options.json, log.txt, stats.jsonl, samples/ (DDIM grids from the EMA
network) and checkpoints. A rerun resumes from the newest checkpoint with the same weights, EMA,
optimiser moments, RNG states and batches (the batch, its augmentation, its t, noise and dropout are
functions of (seed, rank, step)), so N steps in one go and in two sittings are identical on CPU, even
after kill -9. bf16 autocast on CUDA (no grad scaling needed); DDP under torchrun (gradients averaged
by hand: the official network has layers that get none).
"""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import torch

from adgen import atomic
from adgen.errors import UserError
from adgen.models.gfla.data import tensor_to_image
from adgen.models.pidm.config import LOSS_COLUMNS, PidmParams
from adgen.models.pidm.data import PidmPairs, batches
from adgen.models.pidm.diffusion import GaussianDiffusion, Guidance, ddim_sample
from adgen.models.pidm.model import PidmUNet, parameter_groups
from adgen.training import checkpoint, dist, loop
from adgen.training.loop import Trainer, TrainResult
from adgen.training.session import CheckpointKind, Schedule, Session

MODEL = "pidm"
KIND = CheckpointKind(
    MODEL,
    "a PIDM checkpoint",
    mark=("model", MODEL),
    architecture=(
        "height",
        "width",
        "model_channels",
        "channel_mult",
        "num_res_blocks",
        "attention_resolutions",
        "embed_channels",
        "timesteps",
    ),
)


def warmup_lr(p: PidmParams, step: int) -> float:
    """The learning rate of step `step` (0-based): linear from lr/warmup up to lr, then flat."""
    if p.warmup_steps <= 0:
        return p.lr
    return p.lr * min(1.0, (step + 1) / p.warmup_steps)


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for e, m in zip(ema.parameters(), model.parameters(), strict=True):
        e.mul_(decay).add_(m.detach(), alpha=1 - decay)


class PidmTrainer(Trainer):
    """The network, its EMA copy, the optimiser and one step; `adgen.training.loop` runs it."""

    name, label, kind, unit, loss_columns = MODEL, "PIDM steps", KIND, "step", LOSS_COLUMNS

    def __init__(
        self, p: PidmParams, rt: dist.Runtime, session: Session | None = None, data: PidmPairs | None = None
    ):
        """Without `session` and `data` (benchmarks, tests of the step alone) it steps only on the
        batches it is given."""
        if p.batch % (2 * rt.world_size):
            raise UserError(
                f"train.pidm.batch {p.batch} must be a multiple of 2 x the {rt.world_size} processes "
                "(each pair is trained both ways)"
            )
        self.p, self.rt, self.session, self.data = p, rt, session, data
        self.total = p.total_steps
        self.keep_checkpoints = p.keep_checkpoints
        every = {"tick": p.tick_steps, "checkpoint": p.checkpoint_steps, "sample": p.sample_every}
        self.schedule = Schedule(every, [p.total_steps])
        self.model = PidmUNet(p).to(rt.device)
        rt.broadcast_from_main(self.model)
        self.ema = copy.deepcopy(self.model).requires_grad_(False).eval()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=p.lr)
        self.scaler = rt.grad_scaler()
        self.diffusion = GaussianDiffusion.from_params(p)
        self.pairs_per_rank = p.batch // 2 // rt.world_size
        self.step_idx = 0
        self.batches = None

    @property
    def steps(self) -> int:
        return self.step_idx

    def introduce(self) -> str:
        p, rt = self.p, self.rt
        return (
            f"new run: PIDM {p.preset} {p.height}x{p.width}, {parameter_groups(self.model)['all']:,} params, "
            f"{len(self.data)} pairs, batch {p.batch} ({self.pairs_per_rank} pairs both ways x {rt.world_size} "
            f"rank(s)), device {rt.device}"
        )

    def begin(self) -> None:
        p, rt = self.p, self.rt
        self.model.train()
        self.batches = batches(
            self.data, p.batch // 2, p.seed, self.step_idx, self.total, p.workers, rt.rank, rt.world_size
        )

    def step(self, batch: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
        p, rt, dev = self.p, self.rt, self.rt.device
        batch = next(self.batches) if batch is None else batch
        src, src_pose, tgt, tgt_pose = (batch[k] for k in ("source", "source_pose", "target", "target_pose"))
        source = torch.cat([src, tgt]).to(dev)  # both ways: source → target, target → source
        target = torch.cat([tgt, src]).to(dev)
        pose = torch.cat([tgt_pose, src_pose]).to(dev)
        n = source.shape[0]
        g = torch.Generator().manual_seed(checkpoint.step_seed(p.seed, rt.rank, self.step_idx))
        t = torch.randint(0, p.timesteps, (n,), generator=g).to(dev)
        noise = torch.randn(target.shape, generator=g).to(dev)
        keep_style = (torch.rand(n, generator=g) >= p.style_drop_prob).float().view(-1, 1, 1, 1).to(dev)
        keep_pose = (torch.rand(n, generator=g) >= p.pose_drop_prob).float().view(-1, 1, 1, 1).to(dev)
        for group in self.opt.param_groups:
            group["lr"] = warmup_lr(p, self.step_idx)

        x_t = self.diffusion.q_sample(target, t, noise)
        self.opt.zero_grad(set_to_none=True)
        with rt.autocast():
            out = self.model(x_t, t, pose * keep_pose, self.model.encode(source * keep_style))
        losses = self.diffusion.training_losses(out, target, x_t, t, noise)
        loss = losses["loss"].mean()
        self.scaler.scale(loss).backward()
        rt.average_gradients(self.model)
        self.scaler.unscale_(self.opt)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), p.grad_clip)
        self.scaler.step(self.opt)
        self.scaler.update()
        self.step_idx += 1
        update_ema(self.ema, self.model, 0.0 if self.step_idx < p.warmup_steps else p.ema_decay)
        return {
            "loss": float(rt.average(loss.detach())),
            "mse": float(rt.average(losses["mse"].mean().detach())),
            "vb": float(rt.average(losses["vb"].mean().detach())),
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": MODEL,
            "step": self.step_idx,
            "net": self.model.state_dict(),
            "ema": self.ema.state_dict(),
            "opt": self.opt.state_dict(),
            "scaler": self.scaler.state_dict(),
            "params": self.p.model_dump(mode="json"),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step_idx = int(state["step"])
        self.model.load_state_dict(state["net"])
        self.ema.load_state_dict(state["ema"])
        self.opt.load_state_dict(state["opt"])
        self.scaler.load_state_dict(state["scaler"])

    def periodic(self, what: str, before: float, after: float) -> None:
        if what == "sample":
            path = self.session.run_dir / "samples" / f"step-{self.step_idx:09d}.png"
            self.session.on_main(self.save_samples, path)

    @torch.no_grad()
    def save_samples(self, path: Path) -> None:
        """source | target pose (its drawn skeleton) | the EMA network's DDIM sample | real target."""
        p = self.p
        items = [self.data[i] for i in range(min(p.grid_pairs, len(self.data)))]
        dev = self.rt.device
        src = torch.stack([it["source"] for it in items]).to(dev)
        pose = torch.stack([it["target_pose"] for it in items]).to(dev)
        guidance = Guidance(style=p.guidance_style, pose=p.guidance_pose)
        fake = ddim_sample(
            self.ema, self.diffusion, src, pose, list(range(len(items))), p.sample_steps_ddim, guidance,
            clip_x0=p.sample_clip_x0,
        )  # fmt: skip
        rows = [
            torch.cat([src[i], pose[i, :3] * 2 - 1, fake[i], items[i]["target"].to(dev)], dim=2)
            for i in range(len(items))
        ]
        buf = io.BytesIO()
        tensor_to_image(torch.cat(rows, dim=1)).save(buf, format="PNG")
        atomic.write_bytes(path, buf.getvalue())

    def final_values(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        last = records[-1] if records else {}
        return {
            "steps": self.step_idx,
            **{k: last[k] for k in LOSS_COLUMNS if k in last},
            "parameters": parameter_groups(self.model)["all"],
            "preset": self.p.preset,
        }


def preflight(p: PidmParams) -> None:
    """One line before any run dir is made when the dataset is not there."""
    PidmPairs(p.dataset, "train", p)


def train(job, *, stop_at: int | None = None, echo: bool = True) -> TrainResult:
    """Train (or resume) PIDM in `job.run_dir` until `total_steps`; writes `<metrics>/pidm.json`."""
    p: PidmParams = job.options

    def make(run: Session) -> PidmTrainer:
        data = PidmPairs(p.dataset, "train", p)
        run.write_options({"model": MODEL, **p.model_dump(mode="json"), "pairs": len(data)})
        checkpoint.seed_everything(p.seed + run.rt.rank)
        return PidmTrainer(p, run.rt, run, data)

    return loop.run_with(make, job.run_dir, p, echo=echo, metrics_dir=job.metrics_dir, stop_at=stop_at)


def load_network(
    path: str | Path, device: str = "cpu", which: str = "ema"
) -> tuple[PidmUNet, PidmParams, Path]:
    """The EMA (or raw, `which="net"`) network, eval mode, and its params from a checkpoint or run dir."""
    from adgen.training import checkpoints

    path, state = checkpoints.load(path, KIND, device)
    params = checkpoint.params_from(PidmParams, state.get("params"), f"PIDM checkpoint {path}")
    model = PidmUNet(params)
    checkpoint.load_weights(model, state.get(which), f"PIDM checkpoint {path}")
    return model.to(device).eval(), params, path
