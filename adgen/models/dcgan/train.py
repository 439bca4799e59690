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

from collections.abc import Mapping
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
from adgen.training import checkpoint, checkpoints, dist, loop
from adgen.training.loop import TickStats, Trainer, TrainResult
from adgen.training.session import CheckpointKind, Schedule, Session

MODEL = "dcgan"
STAT_KEYS = (*LOSS_COLUMNS, "D_real", "D_fake")  # D_*: mean sigmoid(D) on reals / fakes
KIND = CheckpointKind(
    MODEL,
    "a DCGAN checkpoint",
    mark=("model", MODEL),
    architecture=("resolution", "z_dim", "g_channels", "d_channels"),
)


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


class DcganTrainer(Trainer):
    """Both networks, their optimisers and one training step; `adgen.training.loop` runs it.

    Without a `session` (tests of the step alone) it only steps on the batches it is given."""

    name, label, kind, unit, loss_columns = MODEL, "DCGAN steps", KIND, "step", LOSS_COLUMNS

    def __init__(
        self,
        params: DcganParams,
        runtime: dist.Runtime,
        session: Session | None = None,
        dataset: FramedImages | None = None,
    ):
        self.p = params
        self.rt = runtime
        self.session = session
        self.dataset = dataset
        self.total = params.total_steps
        self.keep_checkpoints = params.keep_checkpoints
        every = {
            "tick": params.tick_steps,
            "grid": params.sample_steps,
            "checkpoint": params.checkpoint_steps,
        }
        self.schedule = Schedule(every, [params.total_steps])
        self.grid_seeds = list(range(params.grid_seeds))
        self.batches = None
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

    @property
    def steps(self) -> int:
        return self.step_idx

    def begin(self) -> None:
        """The data order from the step reached: a pure function of (seed, images seen)."""
        p, rt = self.p, self.rt
        self.batches = real_batches(
            self.dataset, self.batch_gpu, p.seed, self.step_idx * p.batch, p.workers, rt.rank, rt.world_size
        )

    def introduce(self) -> str:
        info, rt = describe(self.p), self.rt
        return (
            f"new run: {info['output']} G {info['G_params']:,} D {info['D_params']:,} params, "
            f"{len(self.dataset)} images, batch {self.p.batch} ({self.batch_gpu} x {rt.world_size} "
            f"rank(s)), device {rt.device}"
        )

    def step(self, real: torch.Tensor | None = None) -> dict[str, float]:
        """One D step and one G step on `real` (this rank's images in [-1, 1]; by default the
        run's next batch)."""
        dev = self.rt.device
        if real is None:
            real = next(self.batches)
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

    # --- what the loop records -----------------------------------------------------------------
    def record(self, tick: TickStats) -> dict[str, Any]:
        return {
            "step": self.step_idx,
            "kimg": self.step_idx * self.p.batch / 1000,
            **tick.means,
            "sec_per_step": tick.seconds / max(tick.units, 1),
            "timestamp": tick.started,
        }

    def log_line(self, record: Mapping[str, Any]) -> str:
        shown = " ".join(f"{k} {record[k]:.4f}" for k in STAT_KEYS)
        return f"step {self.step_idx} {shown} {record['sec_per_step']:.3f} s/step"

    def periodic(self, what: str, before: float, after: float) -> None:
        if what == "grid":
            path = self.session.run_dir / f"fakes-{self.step_idx:09d}.png"
            self.session.on_main(save_grid, self.G, path, self.grid_seeds)

    def final_values(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        last = records[-1] if records else {}
        return {
            "steps": self.step_idx,
            "kimg": self.step_idx * self.p.batch / 1000,
            **{k: last[k] for k in STAT_KEYS if k in last},
            "sec_per_step": last.get("sec_per_step"),
            "G_params": count_params(self.G),
            "D_params": count_params(self.D),
            "preset": self.p.preset,
        }


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


def train(job) -> TrainResult:
    """Train (or resume) `job.run_dir` until `total_steps`; writes `<metrics>/dcgan.json`."""
    p: DcganParams = job.options

    def build(run: Session) -> DcganTrainer:
        dataset = FramedImages(p.dataset, p.resolution, p.mirror)
        run.write_options({**describe(p), "dataset_images": len(dataset)})
        checkpoint.seed_everything(p.seed + run.rt.rank)
        return DcganTrainer(p, run.rt, run, dataset)

    return loop.run_with(build, job.run_dir, p, metrics_dir=job.metrics_dir)


def load_generator(path: str | Path, device: str = "cpu") -> tuple[Generator, DcganParams, Path]:
    """G (eval mode) and its params from a checkpoint, or the newest valid checkpoint of a run dir."""
    path, state = checkpoints.load(path, KIND, device)
    params = checkpoint.params_from(DcganParams, state.get("params"), f"DCGAN checkpoint {path}")
    G, _ = build(params)
    checkpoint.load_weights(G, state.get("G"), f"DCGAN checkpoint {path}")
    return G.to(device).eval(), params, path
