"""Train StyleGAN2: a plain function over (params, dataset zip, run dir).

One optimiser step = four phases, as in NVlabs' training loop: G main, G path-length (every
`pl_interval`), D main, D R1 (every `r1_interval`); each phase zeroes, accumulates
`batch / batch_gpu` rounds of gradients, averages them over DDP ranks and steps its Adam
(betas 0, 0.99, learning rate and betas corrected for the lazy intervals). Then G_ema follows G
and ADA tunes p.

The run dir holds training_options.json, log.txt, stats.jsonl (one record per tick), sample
grids (fakes-<step>.png) and checkpoints. A run killed at any point (even kill -9) resumes from
its newest checkpoint and continues exactly as if never stopped, on one process or under DDP: the
checkpoint holds every model, optimiser, the ADA/path-length state and the partial tick
statistics; each step's random draws are a pure function of (seed, rank, step), and the data
order of (seed, image counter).
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as torch_dist
from PIL import Image

from adgen import atomic
from adgen.errors import UserError
from adgen.models.sampling import images_per_seed, latents_for_seeds, to_uint8
from adgen.models.stylegan2.augment import AdaController, AugmentPipe
from adgen.models.stylegan2.config import StyleGAN2Params
from adgen.models.stylegan2.data import ZipImageDataset, real_batches
from adgen.models.stylegan2.loss import StyleGAN2Loss
from adgen.models.stylegan2.model import Generator, build, count_params
from adgen.training import checkpoint, checkpoints, dist, ema, loop
from adgen.training.loop import TickStats, Trainer, TrainResult
from adgen.training.session import CheckpointKind, Schedule, Session

LOSS_KEYS = ("loss/G", "loss/D_real", "loss/D_fake", "loss/r1", "loss/pl")
TIMING_KEYS = ("sec_per_kimg", "sec_per_tick", "timestamp")


def lazy_adam(params, lr: float, interval: int) -> torch.optim.Adam:
    """Adam (0, 0.99) with NVlabs' lazy-regularisation correction c = interval / (interval + 1)."""
    ratio = interval / (interval + 1)
    return torch.optim.Adam(params, lr=lr * ratio, betas=(0.0, 0.99**ratio), eps=1e-8)


def describe(params: StyleGAN2Params) -> dict[str, Any]:
    """The resolved options plus the numbers a user checks first (parameter counts, gamma)."""
    G, D = build(params)
    h, w = params.resolution
    return {
        "params": params.model_dump(mode="json"),
        "G_params": count_params(G),
        "G_mapping_params": count_params(G.mapping),
        "G_synthesis_params": count_params(G.synthesis),
        "D_params": count_params(D),
        "num_ws": G.num_ws,
        "r1_gamma": params.gamma,
        "ema_nimg": params.ema_nimg,
        "output": f"{h}x{w}",
    }


ARCHITECTURE_KEYS = (
    "resolution",
    "z_dim",
    "w_dim",
    "mapping_layers",
    "channel_base",
    "channel_max",
    "mbstd_channels",
    "augment",
)
KIND = CheckpointKind(
    "stylegan2", "a StyleGAN2 checkpoint", keys=("G_ema", "params"), architecture=ARCHITECTURE_KEYS
)


class StyleGAN2Trainer(Trainer):
    """Models, optimisers and one training step; `adgen.training.loop` runs it, counting images.

    Without a `session` (tests and the bench of the step alone) it only steps on the batches it is
    given."""

    name, label, kind, unit = "stylegan2", "StyleGAN2 training (images)", KIND, "nimg"
    loss_columns = tuple(k.replace("/", "_") for k in LOSS_KEYS)

    def __init__(
        self,
        params: StyleGAN2Params,
        runtime: dist.Runtime,
        session: Session | None = None,
        dataset: ZipImageDataset | None = None,
        fid_fn: Callable[[Generator], float] | None = None,
    ):
        self.p = params
        self.rt = runtime
        self.session = session
        self.dataset = dataset
        self.fid_fn = fid_fn
        self.total = int(params.total_kimg * 1000)
        every = {k: getattr(params, f"{k}_kimg") * 1000 for k in ("tick", "fid", "sample", "checkpoint")}
        self.schedule = Schedule(every, [self.total])
        self.keep_checkpoints = params.keep_checkpoints
        self.grid_seeds = list(range(min(32, max(8, params.batch * 2))))
        self.batches = None
        dev = runtime.device
        self.G, self.D = (m.to(dev) for m in build(params))
        self.G_ema = copy.deepcopy(self.G).eval()
        for p in self.G_ema.parameters():
            p.requires_grad_(False)
        runtime.broadcast_from_main(self.G, self.D, self.G_ema)
        self.augment = AugmentPipe(0.0).to(dev) if params.augment == "ada" else None
        self.ada = (
            AdaController(self.augment, params.ada_target, params.ada_interval, params.ada_kimg, params.batch)
            if self.augment is not None
            else None
        )
        self.loss = StyleGAN2Loss(
            self.G,
            self.D,
            self.augment,
            r1_gamma=params.gamma,
            style_mixing=params.style_mixing,
            pl_weight=params.pl_weight,
            pl_batch_shrink=params.pl_batch_shrink,
            pl_decay=params.pl_decay,
            average=runtime.average,
        )
        self.opt_G = lazy_adam(self.G.parameters(), params.lr, params.pl_interval)
        self.opt_D = lazy_adam(self.D.parameters(), params.lr, params.r1_interval)
        self.scaler_G = runtime.grad_scaler()
        self.scaler_D = runtime.grad_scaler()
        self.batch_gpu = params.batch_gpu or params.batch // runtime.world_size
        if params.batch % (self.batch_gpu * runtime.world_size):
            raise UserError(
                f"train.stylegan2.batch {params.batch} must be a multiple of batch_gpu {self.batch_gpu} "
                f"x {runtime.world_size} process(es)"
            )
        self.rounds = params.batch // (self.batch_gpu * runtime.world_size)
        self.step_idx = 0
        self.nimg = 0
        self.phase_seconds: dict[str, float] = {}  # wall time of each phase in the last step
        self.phase_cpu_seconds: dict[str, float] = {}  # process CPU time (all threads) of each phase

    # --- one phase: zero, accumulate rounds, all-reduce, step -----------------------------------
    def _phase(
        self,
        name: str,
        module: torch.nn.Module,
        opt: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        loss_fn: Callable[[int], torch.Tensor],
        gain: float,
        amp: bool,
    ) -> None:
        start, start_cpu = time.perf_counter(), time.process_time()
        module.requires_grad_(True)
        opt.zero_grad(set_to_none=True)
        for r in range(self.rounds):
            with self.rt.autocast() if amp else torch.autocast(self.rt.device.type, enabled=False):
                loss = loss_fn(r)
            scaler.scale(loss.float() * (gain / self.rounds)).backward()
        self.rt.average_gradients(module, finite=not scaler.is_enabled())  # fp16: the scaler sees infs
        scaler.step(opt)
        scaler.update()
        module.requires_grad_(False)
        self.phase_seconds[name] = time.perf_counter() - start
        self.phase_cpu_seconds[name] = time.process_time() - start_cpu

    def _chunk(self, x: torch.Tensor, r: int) -> torch.Tensor:
        return x[r * self.batch_gpu : (r + 1) * self.batch_gpu]

    @property
    def steps(self) -> int:
        return self.step_idx

    @property
    def position(self) -> int:
        return self.nimg

    def begin(self) -> None:
        """The data order from the images seen: a pure function of (seed, image counter)."""
        p, rt = self.p, self.rt
        per_rank = self.batch_gpu * self.rounds
        self.batches = real_batches(
            self.dataset, per_rank, p.seed, self.nimg, p.workers, rt.rank, rt.world_size
        )

    def introduce(self) -> str:
        info, p, rt = describe(self.p), self.p, self.rt
        return (
            f"new run: {info['output']} G {info['G_params']:,} D {info['D_params']:,} params, "
            f"{len(self.dataset)} images, batch {p.batch} ({self.rounds} round(s) x {self.batch_gpu}"
            f" x {rt.world_size} rank(s)), gamma {p.gamma:g}, device {rt.device}"
        )

    def where(self) -> str:
        return f"step {self.step_idx}, {self.nimg / 1000:.3f} kimg"

    def step(self, real: torch.Tensor | None = None) -> dict[str, float]:
        """One optimiser step of G and D on `real` (this rank's batch_gpu * rounds images; by
        default the run's next batch)."""
        p, dev = self.p, self.rt.device
        if real is None:
            real = next(self.batches)
        # Every draw of this step (z, style mixing, noise inputs, ADA) from a stream that is a pure
        # function of (seed, rank, step): a resumed DDP run continues each rank's own streams,
        # though the checkpoint holds only rank 0's RNG states.
        torch.manual_seed(checkpoint.step_seed(p.seed, self.rt.rank, self.step_idx))
        real = real.to(dev)
        n = real.shape[0]
        z_dim = p.z_dim
        zs = {k: torch.randn(n, z_dim, device=dev) for k in ("Gmain", "Greg", "Dmain")}
        out: dict[str, float] = {}
        self.phase_seconds, self.phase_cpu_seconds = {}, {}
        self.G.requires_grad_(False)
        self.D.requires_grad_(False)

        acc: dict[str, float] = {}

        def track(key: str, value: torch.Tensor) -> None:
            acc[key] = acc.get(key, 0.0) + float(value.detach()) / self.rounds

        def g_main(r: int) -> torch.Tensor:
            loss = self.loss.generator_main(self._chunk(zs["Gmain"], r))
            track("loss/G", loss)
            return loss

        self._phase("G_main", self.G, self.opt_G, self.scaler_G, g_main, 1.0, amp=True)

        if self.step_idx % p.pl_interval == 0 and p.pl_weight > 0:

            def g_reg(r: int) -> torch.Tensor:
                loss = self.loss.generator_path_length(self._chunk(zs["Greg"], r))
                track("loss/pl", loss)
                return loss

            self._phase("G_pl", self.G, self.opt_G, self.scaler_G, g_reg, p.pl_interval, amp=False)

        def d_main(r: int) -> torch.Tensor:
            fake_loss, real_loss, real_logits = self.loss.discriminator_main(
                self._chunk(zs["Dmain"], r), self._chunk(real, r)
            )
            if self.ada is not None:
                self.ada.accumulate(real_logits)
            track("loss/D_fake", fake_loss)
            track("loss/D_real", real_loss)
            return fake_loss + real_loss

        self._phase("D_main", self.D, self.opt_D, self.scaler_D, d_main, 1.0, amp=True)

        if self.step_idx % p.r1_interval == 0 and p.gamma > 0:

            def d_reg(r: int) -> torch.Tensor:
                loss = self.loss.discriminator_r1(self._chunk(real, r))
                track("loss/r1", loss)
                return loss

            self._phase("D_r1", self.D, self.opt_D, self.scaler_D, d_reg, p.r1_interval, amp=False)

        # G_ema follows G (half-life ema_nimg, ramped up early in training)
        ema_nimg = p.ema_nimg
        if p.ema_rampup is not None:
            ema_nimg = min(ema_nimg, self.nimg * p.ema_rampup)
        beta = 0.5 ** (p.batch / ema_nimg) if ema_nimg > 0 else 0.0
        ema.update(self.G_ema, self.G, beta)

        if self.ada is not None:
            if self.rt.distributed:  # the heuristic sees every rank's reals
                t = torch.tensor([self.ada.signs, float(self.ada.count)], device=dev, dtype=torch.float64)
                torch_dist.all_reduce(t)
                self.ada.signs, self.ada.count = (
                    float(t[0]) / self.rt.world_size,
                    int(t[1]) // self.rt.world_size,
                )
            self.ada.maybe_adjust(self.step_idx)
        self.step_idx += 1
        self.nimg += p.batch
        out.update(acc)
        return out

    # --- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step_idx,
            "nimg": self.nimg,
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict(),
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
            "scaler_G": self.scaler_G.state_dict(),
            "scaler_D": self.scaler_D.state_dict(),
            "augment_p": float(self.augment.p) if self.augment is not None else 0.0,
            "ada": self.ada.state_dict() if self.ada is not None else None,
            "pl_mean": self.loss.pl_mean.detach().cpu(),
            "params": self.p.model_dump(mode="json"),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step_idx, self.nimg = state["step"], state["nimg"]
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.G_ema.load_state_dict(state["G_ema"])
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        self.scaler_G.load_state_dict(state["scaler_G"])
        self.scaler_D.load_state_dict(state["scaler_D"])
        if self.augment is not None:
            self.augment.p.fill_(state["augment_p"])
            self.ada.load_state_dict(state["ada"])
        self.loss.pl_mean = state["pl_mean"].to(self.rt.device)

    # --- what the loop records ------------------------------------------------------------------
    def record(self, tick: TickStats) -> dict[str, Any]:
        record = {
            "step": self.step_idx,
            "kimg": self.nimg / 1000,
            **tick.means,
            "pl_mean": float(self.loss.pl_mean),
            "augment_p": float(self.augment.p) if self.augment is not None else 0.0,
            "ada_rt": self.ada.rt if self.ada is not None else None,
            "sec_per_tick": tick.seconds,
            "sec_per_kimg": tick.seconds / max(tick.units / 1000, 1e-9),
            "timestamp": tick.started,
        }
        if self.fid_fn is not None and self.schedule.due("fid", tick.before, tick.after):
            record["fid"] = float(self.fid_fn(self.G_ema))
        if record["ada_rt"] is not None and not math.isfinite(record["ada_rt"]):
            record["ada_rt"] = None
        return record

    def log_line(self, record: Mapping[str, Any]) -> str:
        losses = " ".join(f"{k[5:]} {record[k]:.4f}" for k in LOSS_KEYS if k in record)
        return (
            f"step {self.step_idx} kimg {record['kimg']:.3f} {losses} p {record['augment_p']:.3f} "
            f"{record['sec_per_kimg']:.1f} s/kimg"
        )

    def periodic(self, what: str, before: float, after: float) -> None:
        if what == "sample":  # "fid" is measured with the tick's record
            grid = self.session.run_dir / f"fakes-{self.step_idx:09d}.png"
            self.session.on_main(save_grid, self.G_ema, grid, self.grid_seeds)

    def final_values(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """`stylegan2.json`'s numbers: steps, kimg, the last tick's losses and p, the FIDs."""
        last = records[-1] if records else {}
        values = {
            "steps": self.step_idx,
            "kimg": self.nimg / 1000,
            "augment_p": last.get("augment_p"),
            **{k.replace("/", "_"): last[k] for k in LOSS_KEYS if k in last},
        }
        fids = [s["fid"] for s in records if "fid" in s]
        if fids:
            values["fid"] = fids[-1]
            values["fid_best"] = min(fids)
        return values

    def loss_records(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"step": s["step"], **{k.replace("/", "_"): s[k] for k in LOSS_KEYS if k in s}} for s in records
        ]


# --- sampling -----------------------------------------------------------------------------------


@torch.no_grad()
def generate(G: Generator, seeds: list[int], truncation: float = 1.0, batch: int = 1) -> np.ndarray:
    """uint8 [N, H, W, 3] images for `seeds` (fixed 'const' noise): each seed its own forward pass,
    so its image is bit-identical whatever else is sampled (adgen.models.sampling). Only statistics
    over many fakes (FID), where no seed is looked at, pass `batch` > 1 to go faster."""
    dev = next(G.parameters()).device

    def forward(z: torch.Tensor) -> torch.Tensor:
        return G(z, truncation=truncation, noise_mode="const")

    if batch == 1:
        return images_per_seed(forward, seeds, G.z_dim, dev)
    z = latents_for_seeds(seeds, G.z_dim)
    return np.concatenate([to_uint8(forward(z[i : i + batch].to(dev))) for i in range(0, len(seeds), batch)])


def image_grid(images: np.ndarray, cols: int | None = None) -> Image.Image:
    """Tile uint8 [N, H, W, 3] images into one picture."""
    n, h, w, _ = images.shape
    cols = cols or max(1, int(math.ceil(math.sqrt(n * h / w))))
    rows = int(math.ceil(n / cols))
    grid = np.full((rows * h, cols * w, 3), 255, dtype=np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        grid[r * h : (r + 1) * h, c * w : (c + 1) * w] = im
    return Image.fromarray(grid)


def save_grid(G: Generator, path: Path, seeds: list[int]) -> None:
    with atomic.atomic_path(path) as tmp:
        image_grid(generate(G, seeds)).save(tmp, format="PNG")


# --- the loop -----------------------------------------------------------------------------------


def train(
    params: StyleGAN2Params,
    run_dir: Path,
    metrics_dir: Path | None = None,
    fid_fn: Callable[[Generator], float] | None = None,
    echo: bool = True,
) -> TrainResult:
    """Train (or resume) in `run_dir` until `params.total_kimg`; returns the final checkpoint.

    `fid_fn(G_ema) -> FID`, when given, is called every `params.fid_kimg` and at the end, and
    its value goes into stats.jsonl and the metrics JSON.
    """

    def build(run: Session) -> StyleGAN2Trainer:
        dataset = ZipImageDataset(params.dataset, params.resolution, params.mirror)
        run.write_options({**describe(params), "dataset_images": len(dataset)})
        checkpoint.seed_everything(params.seed + run.rt.rank)
        return StyleGAN2Trainer(params, run.rt, run, dataset, fid_fn)

    return loop.run_with(build, run_dir, params, echo=echo, metrics_dir=metrics_dir)


def load_generator(path: Path, device: str = "cpu") -> tuple[Generator, StyleGAN2Params]:
    """G_ema and its params from a training checkpoint, or the newest valid checkpoint of a run dir."""
    path, state = checkpoints.load(path, KIND, device)
    params = checkpoint.params_from(StyleGAN2Params, state["params"], f"StyleGAN2 checkpoint {path}")
    G, _ = build(params)
    checkpoint.load_weights(G, state["G_ema"], f"StyleGAN2 checkpoint {path}")
    return G.to(device).eval(), params


def options_json(params: StyleGAN2Params) -> str:
    return json.dumps(describe(params), indent=2)
