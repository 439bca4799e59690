"""`adgen generate`: the ad chain (`adgen evaluate gfla` is GFLA's own, adgen/models/gfla/cli.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from adgen.clikit import CliGroups, params
from adgen.errors import UserError


def read_bag(path: Path):
    """The bag cut-out: an image with transparency (RGBA), as the strip stage writes them."""

    if not path.is_file():
        raise UserError(f"--bag {path}: file not found")
    try:
        from adgen.safety import open_image

        with open_image(path, f"--bag {path}") as img:  # the pixel limit: one line, not a bomb trace
            has_alpha = img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info)
            bag = img.convert("RGBA")
    except OSError:
        raise UserError(f"--bag {path}: not an image") from None
    if not has_alpha or bag.getchannel("A").getextrema() == (255, 255):
        raise UserError(
            f"--bag {path}: needs a cut-out with transparency (RGBA PNG), e.g. from data/stripped"
        )
    return bag


def generate_command(
    ctx: typer.Context,
    pose: Path = typer.Option(
        ..., "--pose", help="requested pose: keypoint JSON (18 points as x, y, conf) or an image"
    ),
    bag: Path = typer.Option(..., "--bag", help="the bag: a cut-out PNG with transparency"),
    seed: int | None = typer.Option(
        None, "--seed", min=0, max=2**32 - 1, help="first seed (default generate.seed)"
    ),
    n: int | None = typer.Option(
        None, "--n", help="how many ads, seeds seed … seed+n-1 (default generate.n)"
    ),
    output: Path = typer.Option(..., "-o", "--output", help="output folder (ads, intermediates, index.html)"),
    approach: str | None = typer.Option(
        None,
        "--approach",
        help="1: StyleGAN2 → GFLA; 2: DPIG; 3: StyleGAN2 → PIDM; <people>-<transfer> (e.g. dcgan-gfla): any other people generator → pose transfer pair; best: every trained chain, keep the person nearest the pose (default generate.approach)",
    ),
    people: str | None = typer.Option(
        None,
        "--people",
        help="the people generator (e.g. stylegan2, dcgan) whose person the pose transfer re-poses; picks the chain with --pose-transfer",
    ),
    pose_transfer: str | None = typer.Option(
        None,
        "--pose-transfer",
        help="the pose transfer (e.g. gfla, pidm); alone, it re-poses the people its own approach does",
    ),
    compositor: str | None = typer.Option(
        None,
        "--compositor",
        help="stgan: place the bag; sfgan: place it and match the scene's light (default generate.compositor)",
    ),
) -> None:
    """New people in the requested pose with the bag (a people generator → a pose transfer, or DPIG; then ST-GAN), every step saved."""
    from adgen import atomic
    from adgen.generate.chain import generate_ads, load_chain, resolve_approach, summarise
    from adgen.generate.evaluate import inception_of
    from adgen.generate.html import write_page
    from adgen.pose.contract import IMAGE_SUFFIXES, read_pose
    from adgen.stage_metrics import write_training_outputs

    p = params(ctx)
    g = p.generate
    approach = resolve_approach(approach, people, pose_transfer, g.approach)
    seed = g.seed if seed is None else seed
    n = g.n if n is None else n
    if n < 1:
        raise UserError("--n must be at least 1")
    bag_img = read_bag(bag)
    if pose.suffix.lower() not in IMAGE_SUFFIXES:  # a keypoint file: check it before loading any model
        read_pose(pose, (1, 1))
    models = load_chain(p, approach, compositor)
    for skipped, why in models.skipped.items():
        print(f"--approach best: skipping approach {skipped} ({why})", file=sys.stderr)
    # a pose from an image is fitted into each approach's person frame (they may differ in shape)
    requested = {a: read_pose(pose, size, models.estimator) for a, size in models.person_sizes().items()}
    from adgen.training.rundir import existing, removed_on_failure

    existed = existing(output)
    output.mkdir(parents=True, exist_ok=True)
    with removed_on_failure(output, existed):  # a failed run leaves no output dir it made
        bag_img.save(output / "bag.png")
        favoured = None
        if approach == "best":  # the approach `adgen evaluate compare` scored better wins a tie
            from adgen.generate.best import best_approach

            favoured = best_approach(p.path(p.paths.metrics) / "compare.json", among=models.chains)
        seeds = list(range(seed, seed + n))
        ads, people = generate_ads(
            models, requested, bag_img, seeds, output, g.truncation, g.bag_seed, favoured
        )
        metrics = {"approach": approach, **summarise(ads, models.checkpoints, inception_of(people, p))}
        if favoured is not None:
            # a number for a declared id (a DVC metric to diff), the id itself for a combined chain
            metrics["compare_favours_approach"] = int(favoured) if favoured.isdigit() else favoured
        if models.skipped:
            metrics["skipped_approaches"] = models.skipped
        atomic.write_json(output / "metrics.json", metrics)
        page = write_page(output, ads, metrics, "bag.png", str(pose), approach)
    write_training_outputs(p.path(p.paths.metrics), "generate", metrics)
    shown = metrics["pose_mse_reposed"]
    print(f"{len(ads)} ads in {output} (open {page}); pose MSE {shown if shown is None else f'{shown:.4g}'}")


def register(groups: CliGroups) -> None:
    groups.root.command("generate")(generate_command)
