"""Train DCGAN: a plain function over a `TrainJob` (options, run dir, metrics dir).

One optimiser step is the paper's (and PyTorch's reference example's): D sees a real batch
(label 1) and a fake batch (label 0, G detached) and steps; then G steps on D's verdict of the
same fakes (label 1, the non-saturating loss). Both use Adam (lr 2e-4, beta1 0.5).

The run dir holds training_options.json, log.txt, stats.jsonl (one record per tick), sample
grids (fakes-<step>.png) and checkpoints. A run killed at any point (even kill -9) resumes from
its newest checkpoint exactly as if never stopped: the checkpoint holds both networks (with the
BatchNorm running statistics), both optimisers and grad scalers, the partial tick sums and all RNG
states, and both the data order and each step's z are pure functions of (seed, rank, step), so a
DDP run (whose checkpoint rank 0 writes) resumes exactly too. Checkpoints hold only
tensors, numbers, strings and plain containers, so they load with `weights_only=True`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from adgen import atomic
from adgen.errors import UserError
from adgen.models.dcgan.config import LOSS_COLUMNS, DcganParams
from adgen.models.dcgan.data import FramedImages
from adgen.models.dcgan.model import Generator, build, count_params
from adgen.models.sampling import images_per_seed
from adgen.models.stylegan2.data import real_batches
from adgen.models.stylegan2.train import image_grid
from adgen.training import checkpoint, dist, session
from adgen.training.session import CheckpointKind, Schedule, Session, Tick, check_finite

MODEL = "dcgan"
STAT_KEYS = (*LOSS_COLUMNS, "D_real", "D_fake")  # D_*: mean sigmoid(D) on reals / fakes
KIND = CheckpointKind(
    MODEL,
    "a DCGAN checkpoint",
    mark=("model", MODEL),
    architecture=("resolution", "z_dim", "g_channels", "d_channels"),
)


@dataclass
class TrainResult:
    run_dir: Path
    checkpoint: Path
    steps: int
    last_stats: dict[str, Any] = field(default_factory=dict)


def describe(params: DcganParams) -> dict[str, Any]:
    """The resolved options plus the numbers a user checks first (parameter counts)."""
    G, D = build(params)
    h, w = params.resolution
    return {
        "params": params.model_dump(mode="json"),
        "G_params": count_params(G),
        "D_params": count_params(D),
        "output": f"{h}x{w}",
    }


def run_name(params: DcganParams) -> str:
    h, w = params.resolution
    return f"{Path(params.dataset).stem}-{h}x{w}-{params.preset}"


class DcganTrainer:
    """Both networks, their optimisers and one training step; `train` adds data, logs, checkpoints."""

    def __init__(self, params: DcganParams, runtime: dist.Runtime):
        self.p = params
        self.rt = runtime
        self.G, self.D = (m.to(runtime.device) for m in build(params))
        runtime.broadcast_from_main(self.G, self.D)
        betas = (params.beta1, params.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=params.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=params.lr, betas=betas)
        self.scaler_G = runtime.grad_scaler()
        self.scaler_D = runtime.grad_scaler()
        if params.batch % runtime.world_size:
            raise UserError(
                f"train.dcgan.batch {params.batch} must be a multiple of the {runtime.world_size} processes"
            )
        self.batch_gpu = params.batch // runtime.world_size
        self.step_idx = 0

    def latents(self, n: int) -> torch.Tensor:
        """This step's z on this rank: a pure function of (seed, rank, step), so a resumed run —
        on one process or under DDP, where only rank 0 writes the checkpoint — draws the same z."""
        g = torch.Generator().manual_seed(checkpoint.step_seed(self.p.seed, self.rt.rank, self.step_idx))
        return torch.randn(n, self.p.z_dim, generator=g)

    def step(self, real: torch.Tensor) -> dict[str, float]:
        """One D step and one G step on `real` (this rank's images in [-1, 1])."""
        dev = self.rt.device
        real = real.to(dev, non_blocking=True)
        n = real.shape[0]
        ones = torch.ones(n, device=dev)
        zeros = torch.zeros(n, device=dev)
        z = self.latents(n).to(dev)

        # D: real → 1, fake → 0
        self.D.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=True)
        with self.rt.autocast():
            real_logits = self.D(real)
            loss_real = F.binary_cross_entropy_with_logits(real_logits.float(), ones)
        self.scaler_D.scale(loss_real).backward()
        with self.rt.autocast():
            fake = self.G(z)
            fake_logits = self.D(fake.detach())
            loss_fake = F.binary_cross_entropy_with_logits(fake_logits.float(), zeros)
        self.scaler_D.scale(loss_fake).backward()
        self.rt.average_gradients(self.D)
        self.scaler_D.step(self.opt_D)
        self.scaler_D.update()

        # G: D's verdict on the same fakes → 1 (non-saturating)
        self.D.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        with self.rt.autocast():
            loss_G = F.binary_cross_entropy_with_logits(self.D(fake).float(), ones)
        self.scaler_G.scale(loss_G).backward()
        self.rt.average_gradients(self.G)
        self.scaler_G.step(self.opt_G)
        self.scaler_G.update()
        self.step_idx += 1
        return {
            "loss_G": float(loss_G.detach()),
            "loss_D_real": float(loss_real.detach()),
            "loss_D_fake": float(loss_fake.detach()),
            "D_real": float(torch.sigmoid(real_logits.detach().float()).mean()),
            "D_fake": float(torch.sigmoid(fake_logits.detach().float()).mean()),
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": MODEL,
            "step": self.step_idx,
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
            "scaler_G": self.scaler_G.state_dict(),
            "scaler_D": self.scaler_D.state_dict(),
            "params": self.p.model_dump(mode="json"),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step_idx = int(state["step"])
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        self.scaler_G.load_state_dict(state["scaler_G"])
        self.scaler_D.load_state_dict(state["scaler_D"])


# --- sampling -----------------------------------------------------------------------------------


def generate(G: Generator, seeds: list[int]) -> np.ndarray:
    """uint8 [N, H, W, 3] images for `seeds`: G in eval mode (BatchNorm running statistics) and each
    seed its own forward pass, so its image is bit-identical whatever else is sampled
    (adgen.models.sampling)."""
    was_training = G.training
    G.eval()
    try:
        return images_per_seed(G, seeds, G.z_dim, next(G.parameters()).device)
    finally:
        G.train(was_training)


def save_grid(G: Generator, path: Path, seeds: list[int]) -> None:
    with atomic.atomic_path(path) as tmp:
        image_grid(generate(G, seeds)).save(tmp, format="PNG")


# --- the loop -----------------------------------------------------------------------------------


def train(job) -> TrainResult:
    """Train (or resume) `job.run_dir` until `total_steps`; writes `<metrics>/dcgan.json`."""
    p: DcganParams = job.options
    with Session.open(job.run_dir, p.device, p.amp) as run:
        rt = run.rt
        dataset = FramedImages(p.dataset, p.resolution, p.mirror)
        run.write_options({**describe(p), "dataset_images": len(dataset)})
        checkpoint.seed_everything(p.seed + rt.rank)
        trainer = DcganTrainer(p, rt)
        tick = Tick("start_step")
        resume = run.newest_checkpoint(KIND, p)
        if resume is not None:
            trainer.load_state_dict(resume[1])
            tick = Tick("start_step", resume[1]["tick"])
            run.resumed(*resume, trainer.step_idx, f"step {trainer.step_idx}")
        else:
            info = describe(p)
            run.say(
                f"new run: {info['output']} G {info['G_params']:,} D {info['D_params']:,} params, "
                f"{len(dataset)} images, batch {p.batch} ({trainer.batch_gpu} x {rt.world_size} "
                f"rank(s)), device {rt.device}"
            )

        when = Schedule(
            {"tick": p.tick_steps, "grid": p.sample_steps, "checkpoint": p.checkpoint_steps}, [p.total_steps]
        )
        grid_seeds = list(range(p.grid_seeds))
        batches = real_batches(
            dataset, trainer.batch_gpu, p.seed, trainer.step_idx * p.batch, p.workers, rt.rank, rt.world_size
        )
        last_ckpt = resume[0] if resume else None
        with run.progress("DCGAN steps", p.total_steps, trainer.step_idx) as show:
            while trainer.step_idx < p.total_steps:
                before = trainer.step_idx
                stats = trainer.step(next(batches))
                check_finite(stats, trainer.step_idx)
                tick.add(stats)
                show(trainer.step_idx)
                now_step = trainer.step_idx
                if run.is_main and when.due("tick", before, now_step):
                    means, seconds, steps = tick.close(now_step)
                    record = {
                        "step": now_step,
                        "kimg": now_step * p.batch / 1000,
                        **means,
                        "sec_per_step": seconds / max(steps, 1),
                        "timestamp": tick.started,
                    }
                    run.stats(record)
                    shown = " ".join(f"{k} {record[k]:.4f}" for k in STAT_KEYS)
                    run.say(f"step {now_step} {shown} {record['sec_per_step']:.3f} s/step")
                if when.due("grid", before, now_step):
                    run.on_main(save_grid, trainer.G, run.run_dir / f"fakes-{now_step:09d}.png", grid_seeds)
                if when.due("checkpoint", before, now_step):
                    state = {**trainer.state_dict(), "tick": tick.state()}
                    last_ckpt = run.save(now_step, state, p.keep_checkpoints) or last_ckpt
                rt.barrier()

        last_ckpt = run.final_checkpoint(
            last_ckpt, trainer.step_idx, lambda: {**trainer.state_dict(), "tick": tick.state()}
        )
        records = run.records()
        last = records[-1] if records else {}
        values = {
            "steps": trainer.step_idx,
            "kimg": trainer.step_idx * p.batch / 1000,
            **{k: last[k] for k in STAT_KEYS if k in last},
            "sec_per_step": last.get("sec_per_step"),
            "G_params": count_params(trainer.G),
            "D_params": count_params(trainer.D),
            "run_dir": str(run.run_dir),
            "checkpoint": str(last_ckpt),
            "preset": p.preset,
        }
        run.write_outputs(job.metrics_dir, MODEL, values, records, LOSS_COLUMNS)
        return TrainResult(run.run_dir, Path(last_ckpt), trainer.step_idx, last)


def load_generator(path: str | Path, device: str = "cpu") -> tuple[Generator, DcganParams, Path]:
    """G (eval mode) and its params from a checkpoint, or the newest valid checkpoint of a run dir."""
    path, state = session.load(path, KIND, device)
    params = checkpoint.params_from(DcganParams, state.get("params"), f"DCGAN checkpoint {path}")
    G, _ = build(params)
    checkpoint.load_weights(G, state.get("G"), f"DCGAN checkpoint {path}")
    return G.to(device).eval(), params, path
