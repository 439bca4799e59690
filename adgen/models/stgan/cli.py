"""`adgen composite`: put a bag on a person with a trained ST-GAN (registered through spec.py).

`adgen train stgan` is derived from the declaration (adgen/models/cli.py).
"""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.clikit import CliGroups, params
from adgen.errors import UserError
from adgen.training.rundir import newest_run


def register(groups: CliGroups) -> None:
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
        model: str = typer.Option(
            "stgan", "--model", help="stgan: place the bag; sfgan: place it and match the scene's light"
        ),
    ) -> None:
        """Put a bag on a person with a trained ST-GAN (or SF-GAN: placed and relit)."""
        from PIL import UnidentifiedImageError

        from adgen import atomic
        from adgen.models.registry import with_role
        from adgen.models.roles import Compositor
        from adgen.safety import open_image
        from adgen.training.dist import resolve_device

        compositors = with_role(Compositor)  # every declared compositor, this one first
        if model not in compositors:
            shown = sorted(compositors, key=lambda name: name != "stgan")
            raise UserError(f"--model {model!r}: choose {' or '.join(shown)}")
        spec = compositors[model]
        device = resolve_device(device, "--device")  # before any file is read
        if checkpoint is None:
            p = params(ctx)
            checkpoint = newest_run(p.path(p.paths.models) / model, ("checkpoint-*.pt", *spec.role.finals))
            if checkpoint is None:
                raise UserError(
                    f"no {spec.label} run found under paths.models/{model}; pass --checkpoint or run `adgen train {model}`"
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
        comp = spec.role.load(checkpoint, device)  # a run dir: adgen.training.checkpoints.find
        result = comp.composite(images["person"], images["bag"].convert("RGBA"), seed=seed)
        with atomic.atomic_path(output) as tmp:
            result.image.save(tmp, format="PNG")
        if gif is not None:
            comp.write_gif(images["person"], images["bag"].convert("RGBA"), gif, seed=seed)
        shown = ", ".join(f"{x:+.3f}" for x in result.params[-1])
        print(f"wrote {output} ({len(result.per_warp) - 1} warps; final p = [{shown}])")
