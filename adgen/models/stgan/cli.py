"""`adgen train stgan` and `adgen composite`: thin shells over train.train and api.load_compositor."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from adgen.clikit import CliGroups, params
from adgen.errors import UserError
from adgen.training.rundir import newest_run


def register(groups: CliGroups) -> None:
    @groups.train.command("stgan")
    def train_stgan(
        ctx: typer.Context,
        preset: str | None = typer.Option(
            None, "--preset", help="exp1 | exp2 | exp3 | demo (default: train.stgan.preset)"
        ),
        run_dir: Path | None = typer.Option(
            None, "--run-dir", help="run dir to use or resume (default: a new numbered one)"
        ),
        dry_run: bool = typer.Option(False, "--dry-run", help="print the resolved options and exit"),
    ) -> None:
        """Train ST-GAN: D alone, then warps 1..N; resumes when the run dir has a checkpoint."""
        from adgen.models.stgan.config import resolve

        p = params(ctx)
        sp = resolve(p.train.stgan, preset)
        index = p.path(sp.index)
        if dry_run:
            print(
                json.dumps(
                    {
                        "index": str(index),
                        "run_dir": str(run_dir) if run_dir else None,
                        **sp.model_dump(mode="json"),
                    },
                    indent=2,
                )
            )
            return
        from adgen.models.stgan.train import train
        from adgen.training import rundir

        if run_dir is None:
            if int(os.environ.get("WORLD_SIZE", "1")) > 1:
                raise UserError(
                    "under torchrun pass --run-dir, so that every rank writes to the same run dir"
                )
            run_dir = rundir.next_run_dir(p.path(p.paths.models) / "stgan", f"stgan-{sp.preset}")
        result = train(sp, index, run_dir, metrics_dir=p.path(p.paths.metrics), data_root=p.root)
        if int(os.environ.get("RANK", "0")) == 0:
            print(f"run dir: {result.run_dir}\ncheckpoint: {result.checkpoint}")

    @groups.root.command("composite")
    def composite(
        ctx: typer.Context,
        person: Path = typer.Option(..., "--person", help="person image (RGB; padded to the model's aspect)"),
        bag: Path = typer.Option(..., "--bag", help="bag cut-out (RGBA PNG; alpha = mask)"),
        output: Path = typer.Option(..., "-o", "--output", help="where to write the composite PNG"),
        checkpoint: Path | None = typer.Option(
            None, "--checkpoint", help="ST-GAN checkpoint or run dir (default: the newest run)"
        ),
        gif: Path | None = typer.Option(
            None, "--gif", help="also write an animated GIF of the bag moving through the warps"
        ),
        seed: int | None = typer.Option(
            None, "--seed", help="random start placement (default: the bag starts at the centre)"
        ),
        device: str = typer.Option("cpu", "--device"),
    ) -> None:
        """Put a bag on a person with a trained ST-GAN."""
        from PIL import UnidentifiedImageError

        from adgen import atomic
        from adgen.errors import UserError
        from adgen.models.stgan.api import load_compositor
        from adgen.safety import open_image

        if checkpoint is None:
            p = params(ctx)
            checkpoint = newest_run(p.path(p.paths.models) / "stgan")
            if checkpoint is None:
                raise UserError(
                    "no ST-GAN run found under paths.models/stgan; pass --checkpoint or run `adgen train stgan`"
                )
        images = {}
        for name, path in (("person", person), ("bag", bag)):
            try:
                with open_image(path, f"--{name} {path}") as im:  # the pixel limit: one line
                    im.load()
                    images[name] = im.copy()
            except FileNotFoundError:
                raise UserError(f"--{name} {path}: file not found") from None
            except (UnidentifiedImageError, OSError):
                raise UserError(f"--{name} {path}: not a readable image") from None
        if images["bag"].mode not in ("RGBA", "LA", "PA") and "transparency" not in images["bag"].info:
            raise UserError(f"--bag {bag}: needs an alpha channel (an RGBA cut-out, alpha = mask)")
        comp = load_compositor(checkpoint, device)
        result = comp.composite(images["person"], images["bag"].convert("RGBA"), seed=seed)
        with atomic.atomic_path(output) as tmp:
            result.image.save(tmp, format="PNG")
        if gif is not None:
            comp.write_gif(images["person"], images["bag"].convert("RGBA"), gif, seed=seed)
        shown = ", ".join(f"{x:+.3f}" for x in result.params[-1])
        print(f"wrote {output} ({len(result.per_warp) - 1} warps; final p = [{shown}])")
