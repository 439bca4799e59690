"""`adgen pose`: thin shell over adgen.pose."""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.clikit import CliGroups, params


def register(groups: CliGroups) -> None:
    groups.root.command("pose")(pose_command)


def pose_command(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="estimate every image again"),
    ground_truth: Path | None = typer.Option(
        None, "--ground-truth", help="fixture site's ground-truth.json: print keypoint error against it"
    ),
) -> None:
    """Estimate 18 OpenPose keypoints for the stripped people and DeepFashion images -> data/pose/keypoints.parquet."""
    from adgen.pose.stage import estimate_poses

    p = params(ctx)
    r = estimate_poses(p, force=force)
    if r.skipped:
        print(
            f"pose: up to date ({r.n_kept} stripped people, {r.n_deepfashion} DeepFashion images), nothing to do"
        )
    else:
        print(
            f"pose: {r.n_estimated} images estimated ({r.n_kept} stripped people, "
            f"{r.n_deepfashion} DeepFashion images) -> {r.table_path}"
        )
    ground_truth = ground_truth or (p.path(p.pose.ground_truth) if p.pose.ground_truth else None)
    if ground_truth is not None:
        report_fixture_error(p, ground_truth, r.table_path.parent / "fixture_scores.json")


def report_fixture_error(p, ground_truth: Path, out: Path) -> None:
    from adgen import atomic
    from adgen.matting.evaluate import load_ground_truth
    from adgen.pose.evaluate import score_against_fixture

    truth, _ = load_ground_truth(ground_truth)
    k = score_against_fixture(p, truth)
    atomic.write_json(
        out,
        {
            "n_images": k.n_images,
            "mean_error_px": k.mean_error_px,
            "mean_error_rel": k.mean_error_rel,
            "recall": k.recall,
        },
    )
    print(
        f"pose vs fixture truth ({k.n_images} people): mean keypoint error {k.mean_error_px:.2f} px "
        f"({k.mean_error_rel:.2%} of height), recall {k.recall:.3f}"
    )
