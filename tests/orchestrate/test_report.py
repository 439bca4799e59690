"""report/index.html shows each stage's outputs once they exist, and scores the filter honestly."""

from __future__ import annotations

import io
import json
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from adgen import config
from adgen.report.build import build_report
from adgen.report.scores import score_filter
from adgen.store.photos import store_photos


def make_project(root: Path, ground_truth: bool = True) -> config.Params:
    (root / "params.yaml").write_text(
        "report:\n  ground_truth: data/fixtures/gt.json\n  thumbnails: 4\n  thumb_px: 32\n"
        if ground_truth
        else "{}\n"
    )
    return config.load(root / "params.yaml")


def add_raw(root: Path, n: int = 6) -> list[str]:
    ids, rows = [], []
    for i in range(n):
        buf = io.BytesIO()
        Image.new("RGB", (40, 60), (20 * i, 100, 150)).save(buf, format="JPEG")
        ((image_id, shard, member),) = store_photos(root / "data/raw/store", [(buf.getvalue(), "jpg")])
        ids.append(image_id)
        rows.append(
            {"image_id": image_id, "shard": shard, "member": member, "site": "123rf" if i % 2 else "getty"}
        )
    pd.DataFrame(rows).to_parquet(root / "data/raw/manifest.parquet")
    pd.DataFrame({"url": ["http://x/a.jpg"], "reason": ["truncated"]}).to_parquet(
        root / "data/raw/rejects.parquet"
    )
    return ids


def add_filtered(root: Path, ids: list[str], keep: list[bool], reasons: list[str]) -> None:
    raw = pd.read_parquet(root / "data/raw/manifest.parquet")
    raw["keep"], raw["reason"] = keep, reasons
    (root / "data/filtered").mkdir(parents=True, exist_ok=True)
    raw.to_parquet(root / "data/filtered/manifest.parquet")


def test_report_with_only_the_crawl_shows_counts_and_no_filter_section(tmp_path: Path):
    params = make_project(tmp_path)
    add_raw(tmp_path)
    report = build_report(params)
    html = report.index.read_text()
    assert report.index == tmp_path / "report" / "index.html"
    assert report.sections == ["version", "counts", "sheets"]
    assert "crawl: images stored" in html and "123rf: 3" in html and "truncated: 1" in html
    # every crawled photo is a thumbnail linking to its own page
    thumbs = sorted((tmp_path / "report/assets/thumbs").glob("*-member.png"))
    assert len(thumbs) == 4  # report.thumbnails
    assert html.count('href="items/') == 4 and report.items == 4


def test_filter_is_scored_against_the_fixture_ground_truth(tmp_path: Path):
    params = make_project(tmp_path)
    ids = add_raw(tmp_path)
    # truth: 0,1,2 should be kept; the filter keeps 0,1,3 → precision 2/3, recall 2/3
    truth = {
        "images": {
            image_id: {"expected_keep": i < 3, "expected_reason": "kept" if i < 3 else "no_bag"}
            for i, image_id in enumerate(ids)
        }
    }
    (tmp_path / "data/fixtures").mkdir(parents=True)
    (tmp_path / "data/fixtures/gt.json").write_text(json.dumps(truth))
    keep = [True, True, False, True, False, False]
    reasons = ["kept", "kept", "cropped_feet", "kept", "no_bag", "no_bag"]
    add_filtered(tmp_path, ids, keep, reasons)
    report = build_report(params)
    html = report.index.read_text()
    assert "filter-truth" in report.sections
    assert "0.6667" in html  # precision and recall
    score = score_filter(pd.read_parquet(tmp_path / "data/filtered/manifest.parquet"), truth)
    assert score is not None
    assert (score.true_pos, score.false_pos, score.false_neg, score.true_neg) == (2, 1, 1, 2)
    assert score.precision == pytest.approx(2 / 3) and score.recall == pytest.approx(2 / 3)
    assert score.reason_agreement == pytest.approx(4 / 6)
    assert "filter: kept" in html and "filter: rejected, no_bag" in html
    page = (tmp_path / "report/items" / f"{ids[4]}.html").read_text()
    assert "rejected" in page and "no_bag" in page


def test_the_ground_truth_scores_the_rule_not_the_reviewers_overrides(tmp_path: Path):
    """Reviewers correcting the rule must not make the detector look better (filter_stats.json
    scores the rule too); the section says how many decisions it left out."""
    params = make_project(tmp_path)
    ids = add_raw(tmp_path)
    truth = {"images": {i: {"expected_keep": n < 3, "expected_reason": "kept" if n < 3 else "no_bag"}
                        for n, i in enumerate(ids)}}  # fmt: skip
    (tmp_path / "data/fixtures").mkdir(parents=True)
    (tmp_path / "data/fixtures/gt.json").write_text(json.dumps(truth))
    add_filtered(tmp_path, ids, [True, True, False, True, False, False],
                 ["kept", "kept", "cropped_feet", "kept", "no_bag", "no_bag"])  # fmt: skip
    path = tmp_path / "data/filtered/manifest.parquet"
    df = pd.read_parquet(path)
    df["rule_keep"], df["rule_reason"] = df["keep"], df["reason"]
    for n, keep in ((2, True), (3, False)):  # the reviewer fixes both of the rule's mistakes
        df.loc[df["image_id"] == ids[n], ["keep", "reason"]] = [keep, "reviewer"]
    df.to_parquet(path)
    html = build_report(params).index.read_text()
    assert "0.6667" in html  # the rule's precision and recall, as before the review
    assert "reviewers overrode 2 of them" in html


def test_images_unknown_to_the_ground_truth_are_left_out_of_the_score():
    filtered = pd.DataFrame({"image_id": ["a", "b"], "keep": [True, False], "reason": ["kept", "no_bag"]})
    score = score_filter(filtered, {"images": {"a": {"expected_keep": True, "expected_reason": "kept"}}})
    assert score is not None and score.matched == 1 and score.precision == 1.0
    assert score_filter(filtered, {"images": {}}) is None


def test_training_outputs_appear_as_loss_curves_metrics_and_the_warp_gif(tmp_path: Path):
    params = make_project(tmp_path, ground_truth=False)
    metrics = (
        tmp_path / "metrics"
    )  # paths.metrics: git-tracked, numbers in <name>.json, strings in .info.json
    metrics.mkdir(parents=True)
    pd.DataFrame({"step": [0, 10, 20], "loss_d": [1.0, 0.5, 0.2], "loss_g": [2.0, 1.0, 0.7]}).to_csv(
        metrics / "stgan_loss.csv", index=False
    )
    (metrics / "stgan.json").write_text(json.dumps({"placement_error": 0.12, "iterations": 400}))
    (metrics / "stgan.info.json").write_text(json.dumps({"preset": "demo-preset-name"}))
    (metrics / "gfla_eval.json").write_text(json.dumps({"ssim": 0.8125}))
    (metrics / "gfla_eval.info.json").write_text(json.dumps({"fid_skipped": "graph-not-set"}))
    run = tmp_path / "data/models/stgan/00000-demo"
    run.mkdir(parents=True)
    frames = [np.full((16, 16, 3), v, np.uint8) for v in (0, 128, 255)]
    imageio.mimsave(run / "warps.gif", frames, duration=0.2)
    report = build_report(params)
    html = report.index.read_text()
    assert report.sections == ["training", "metrics"]
    assert (tmp_path / "report/assets/stgan-loss.png").stat().st_size > 1000
    assert (tmp_path / "report/assets/stgan-warps.gif").read_bytes() == (run / "warps.gif").read_bytes()
    assert "placement_error" in html and "0.12" in html and "demo-preset-name" in html
    assert "0.8125" in html and "graph-not-set" in html and "stgan.info.json" not in html


def test_an_empty_project_still_gets_a_page(tmp_path: Path):
    report = build_report(make_project(tmp_path, ground_truth=False))
    assert report.sections == ["empty"] and "No stage has produced output yet" in report.index.read_text()


def test_generated_ads_appear_with_their_chain(tmp_path: Path):
    params = make_project(tmp_path, ground_truth=False)
    folder = tmp_path / "data/generated/pose--bag/0000"
    folder.mkdir(parents=True)
    for name, colour in (("person.png", (200, 0, 0)), ("reposed.png", (0, 200, 0)), ("ad.png", (0, 0, 200))):
        Image.new("RGB", (16, 32), colour).save(folder / name)
    report = build_report(params)
    assert report.sections == ["generated"]
    chain = Image.open(tmp_path / "report/assets/generated-chain.png").convert("RGB")
    # three tiles: red person, green re-posed person, blue ad, left to right
    row = [chain.getpixel((4 + 100 * i + 48, 4 + 48)) for i in range(3)]
    assert [max(range(3), key=lambda c: px[c]) for px in row] == [0, 1, 2]
