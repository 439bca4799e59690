"""Train GFLA in the official two stages, resumable step for step.

Stage 1 (steps 0 … flow_steps): the flow estimator alone, 20·correctness + 0.01·regularisation.
Stage 2 (the next `steps` steps): the whole generator against the discriminator, D step then G step,
5·L1 + 5·correctness + 2·LSGAN + 0.0025·regularisation + 500·style + 0.5·content.
Adam betas (0, 0.999); G 1e-4, D 1e-5. The run dir holds training_options.json, log.txt, stats.jsonl,
loss.csv, samples/ and checkpoints; a rerun on the same run dir resumes from the newest checkpoint with
the same weights, optimiser moments, RNG states and batch order, so N steps in one go and N steps in
two sittings give identical weights (on CPU). AMP on CUDA; DDP under torchrun via adgen.training.dist.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from adgen import atomic
from adgen.models.gfla import losses
from adgen.models.gfla.config import LOSS_COLUMNS, GflaParams
from adgen.models.gfla.data import GflaPairs, StepBatches, tensor_to_image
from adgen.models.gfla.model import PoseGenerator, build, count_parameters
from adgen.models.gfla.vgg import load_vgg19
from adgen.training import checkpoint, dist
from adgen.training.session import CheckpointKind, Schedule, Session, StepResult

CSV_COLUMNS = ["step", "stage", *LOSS_COLUMNS]  # the loss log: the declared losses with their step and stage


TrainResult = StepResult
KIND = CheckpointKind("gfla", "a GFLA checkpoint", keys=("g", "d", "params"))


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


def _write_loss_csv(stats: list[dict[str, Any]], *paths: Path) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for rec in stats:
        writer.writerow({k: rec.get(k, "") for k in CSV_COLUMNS})
    for path in paths:
        atomic.write_text(path, out.getvalue())


def preflight(p: GflaParams, dataset: str | Path) -> None:
    """Fail with one line before any run dir is made: VGG19 weights and the dataset must be there."""
    from adgen.models.gfla.vgg import vgg19_weights_file

    vgg19_weights_file(p.vgg19_weights)
    GflaPairs(dataset, "train", p)


def train(
    p: GflaParams,
    dataset: str | Path,
    run_dir: str | Path,
    metrics_dir: str | Path | None = None,
    stop_at: int | None = None,
    echo: bool = True,
) -> TrainResult:
    """Train (or resume) GFLA in `run_dir`; stop after step `stop_at` if given (for tests and slices)."""
    with Session.open(run_dir, p.device, p.amp, echo=echo) as run:
        return _train(run, p, dataset, metrics_dir, stop_at)


def _train(
    run: Session, p: GflaParams, dataset: str | Path, metrics_dir: str | Path | None, stop_at: int | None
) -> TrainResult:
    rt, run_dir = run.rt, run.run_dir
    run.write_options({"model": "gfla", "dataset": str(dataset), **p.model_dump(mode="json")})
    # the checkpoint is checked (weights only, newest valid) before anything heavy is loaded
    found = run.newest_checkpoint(KIND, map_location="cpu")
    checkpoint.seed_everything(p.seed + rt.rank)
    g, d = build(p)
    g.to(rt.device)
    d.to(rt.device)
    vgg = load_vgg19(p.vgg19_weights).to(rt.device)
    data = GflaPairs(dataset, "train", p)

    opt_flow = _adam(g.flow_net.parameters(), p.lr_flow, p)
    opt_g = _adam(g.parameters(), p.lr_g, p)
    opt_d = _adam(d.parameters(), p.lr_d, p)
    scalers = {name: rt.grad_scaler() for name in ("flow", "g", "d")}
    kernels = (p.attn_kernel_h8, p.attn_kernel_h4)

    step = 0
    if found is not None:
        state = found[1]
        g.load_state_dict(state["g"])
        d.load_state_dict(state["d"])
        opt_flow.load_state_dict(state["opt_flow"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        for name, scaler in scalers.items():
            scaler.load_state_dict(state[f"scaler_{name}"])
        step = int(state["step"])
        run.resumed(*found, step, f"step {step}")
    else:
        run.say(
            f"GFLA {p.preset}: {p.height}x{p.width}, G {count_parameters(g):,} params, "
            f"D {count_parameters(d):,}; stage 1 {p.flow_steps} steps, stage 2 {p.steps} steps"
        )

    total = p.flow_steps + p.steps
    stop = total if stop_at is None else min(total, stop_at)
    # stage 1 does not use the occlusion-mask heads, so its DDP wrapper must allow unused parameters
    flow_net = _ddp(rt, g.flow_net, find_unused_parameters=True)
    g_run = rt.wrap(g)
    d_run = rt.wrap(d)
    if p.batch % rt.world_size:
        from adgen.errors import UserError

        raise UserError(f"train.gfla.batch {p.batch} is not divisible by the {rt.world_size} DDP processes")
    sampler = StepBatches(len(data), p.batch, p.seed, step, stop, rt.rank, rt.world_size)
    loader = torch.utils.data.DataLoader(
        data, batch_sampler=sampler, num_workers=p.workers, pin_memory=rt.device.type == "cuda"
    )

    last: dict[str, float] = {}
    ckpt_path: Path | None = found[0] if found else None
    when = Schedule({"log": p.log_every, "sample": p.sample_every, "checkpoint": p.checkpoint_every}, [stop])
    g.train()
    d.train()
    with run.progress("GFLA training (steps)", stop, step) as show:
        for batch in loader:
            src = batch["P1"].to(rt.device, non_blocking=True)
            src_pose = batch["BP1"].to(rt.device, non_blocking=True)
            tgt = batch["P2"].to(rt.device, non_blocking=True)
            tgt_pose = batch["BP2"].to(rt.device, non_blocking=True)
            stage = 1 if step < p.flow_steps else 2
            if stage == 1:
                with rt.autocast():
                    flows, _ = flow_net(src, src_pose, tgt_pose)
                    corr = losses.sampling_correctness(vgg, tgt, src, [f.float() for f in flows])
                    reg = losses.flow_regularization([f.float() for f in flows], kernels)
                    loss = p.flow_lambda_correct * corr + p.flow_lambda_regularization * reg
                opt_flow.zero_grad(set_to_none=True)
                scalers["flow"].scale(loss).backward()
                scalers["flow"].step(opt_flow)
                scalers["flow"].update()
                last = {"correctness": corr.item(), "regularization": reg.item(), "flow_total": loss.item()}
            else:
                with rt.autocast():
                    image, flows, _ = g_run(src, src_pose, tgt_pose)
                # discriminator: real vs the generated image (one forward over both halves)
                d.requires_grad_(True)
                with rt.autocast():
                    d_out = d_run(torch.cat((tgt, image.detach()), dim=0)).float()
                    d_real, d_fake = d_out.chunk(2)
                    loss_d = losses.lsgan_d(d_real, d_fake)
                opt_d.zero_grad(set_to_none=True)
                scalers["d"].scale(loss_d).backward()
                scalers["d"].step(opt_d)
                scalers["d"].update()
                # generator
                d.requires_grad_(False)
                with rt.autocast():
                    flows32 = [f.float() for f in flows]
                    image32 = image.float()
                    l1 = losses.l1(image32, tgt)
                    corr = losses.sampling_correctness(vgg, tgt, src, flows32)
                    adv = losses.lsgan_g(d(image).float())
                    reg = losses.flow_regularization(flows32, kernels)
                    content, style = losses.perceptual(vgg, image32, tgt)
                    loss_g = (
                        p.lambda_rec * l1
                        + p.lambda_correct * corr
                        + p.lambda_g * adv
                        + p.lambda_regularization * reg
                        + p.lambda_style * style
                        + p.lambda_content * content
                    )
                opt_g.zero_grad(set_to_none=True)
                scalers["g"].scale(loss_g).backward()
                scalers["g"].step(opt_g)
                scalers["g"].update()
                d.requires_grad_(True)
                last = {
                    "l1": l1.item(),
                    "correctness": corr.item(),
                    "adversarial": adv.item(),
                    "regularization": reg.item(),
                    "style": style.item(),
                    "content": content.item(),
                    "g_total": loss_g.item(),
                    "d": loss_d.item(),
                }
            step += 1

            if when.due("log", step - 1, step):
                run.stats({"step": step, "stage": stage, **last})
                run.say(
                    f"step {step}/{total} stage {stage} " + " ".join(f"{k} {v:.4g}" for k, v in last.items())
                )
            if when.due("sample", step - 1, step):
                shown = flows[-1] if stage == 1 else image
                run.on_main(
                    _sample_sheet, src, tgt, shown, stage, run_dir / "samples" / f"step-{step:09d}.png"
                )
            show(step)
            if when.due("checkpoint", step - 1, step):
                saved = run.save(
                    step,
                    {
                        "step": step,
                        "stage": stage,
                        "g": g.state_dict(),
                        "d": d.state_dict(),
                        "opt_flow": opt_flow.state_dict(),
                        "opt_g": opt_g.state_dict(),
                        "opt_d": opt_d.state_dict(),
                        **{f"scaler_{k}": s.state_dict() for k, s in scalers.items()},
                        "params": p.model_dump(mode="json"),
                    },
                    p.keep_checkpoints,
                )
                if saved is not None:
                    ckpt_path = saved
                    _write_loss_csv(run.records(), run_dir / "loss.csv")
                rt.barrier()

    metrics_path = None
    if step >= stop:
        stats = run.records()
        written = run.write_outputs(
            metrics_dir,
            "gfla",
            {
                "step": step,
                "stage": 1 if step <= p.flow_steps else 2,
                "preset": p.preset,
                "generator_parameters": count_parameters(g),
                "discriminator_parameters": count_parameters(d),
                "final": last or (stats[-1] if stats else {}),
                "run_dir": str(run_dir),
                "checkpoint": str(ckpt_path) if ckpt_path else None,
            },
            stats,
            CSV_COLUMNS[1:],  # step, then stage and the losses (numbers only in gfla.json)
        )
        metrics_path = written["metrics"] if written else None
    return TrainResult(run_dir, step, ckpt_path, last, metrics_path)


def load_generator_from_run(run_dir: str | Path) -> PoseGenerator:
    """The generator of the newest checkpoint in a run dir (eval mode, CPU)."""
    from adgen.models.gfla.checkpoint_io import load_generator

    found = checkpoint.newest_valid(run_dir, restore_rng=False, what="GFLA checkpoint")
    if found is None:
        from adgen.errors import UserError

        raise UserError(f"no loadable GFLA checkpoint in {run_dir}")
    return load_generator(found[0])[0]
