"""The generate run's index.html: every chain shown left to right, and text from outside (a pose file's
name, a checkpoint path, a metric's string) rendered as text, never as markup."""

from __future__ import annotations

import re
from pathlib import Path

from adgen.generate.chain import Ad
from adgen.generate.html import write_page

SCRIPT = '<script>document.title="pwned"</script>'


def ad(seed: int, approach: str = "1", candidates: list | None = None) -> Ad:
    files = {"1 new person": f"seed-{seed}/person.png", "2 <b>re-posed</b>": f"seed-{seed}/reposed.png"}
    return Ad(seed, f"seed-{seed}", files, [], [], [], [], 0.0123, None, [], approach, candidates or [])


def test_a_script_in_a_pose_name_checkpoint_or_metric_renders_as_text(tmp_path: Path):
    metrics = {"ads": 2, "note": SCRIPT, "checkpoints": {"gfla": f"data/models/{SCRIPT}.pt"}}
    page = write_page(tmp_path, [ad(3), ad(4)], metrics, "bag.png", f"poses/{SCRIPT}.json").read_text()
    assert "<script>" not in page and "<b>re-posed</b>" not in page
    assert page.count("&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;") == 3
    assert "&lt;b&gt;re-posed&lt;/b&gt;" in page
    assert re.findall(r'<img src="([^"]+)"', page) == [
        "bag.png", "seed-3/person.png", "seed-3/reposed.png", "seed-4/person.png", "seed-4/reposed.png",
    ]  # fmt: skip
    assert "re-posed 0.0123, ad n/a" in page and "<title>AdGen: generated ads</title>" in page


def test_best_frames_the_kept_chain_of_each_ad(tmp_path: Path):
    one = {
        "approach": "1",
        "files": {"ad": "seed-3/approach-1/ad.png"},
        "pose_mse_reposed": 0.5,
        "pose_mse_ad": 0.4,
    }
    two = {
        "approach": "2",
        "files": {"ad": "seed-3/approach-2/ad.png"},
        "pose_mse_reposed": 0.1,
        "pose_mse_ad": None,
    }
    page = write_page(tmp_path, [ad(3, "2", [one, two])], {}, "bag.png", "pose.json", "best").read_text()
    assert page.count('class="kept"') == 1 and page.count('class="other"') == 1
    assert "approach 2: DPIG → ST-GAN — kept" in page and "pose MSE: person 0.1, ad n/a" in page
    assert page.index("approach-1/ad.png") < page.index("approach-2/ad.png")


def test_best_names_the_chains_that_ran_not_the_skipped_ones(tmp_path: Path):
    one = {
        "approach": "1",
        "files": {"ad": "seed-3/approach-1/ad.png"},
        "pose_mse_reposed": 0.5,
        "pose_mse_ad": None,
    }
    pair = {**one, "approach": "dcgan-gfla", "files": {"ad": "seed-3/approach-dcgan-gfla/ad.png"}}
    metrics = {
        "skipped_approaches": {"2": "no trained dpig", "3": "no trained pidm", "dcgan-pidm": "no pidm"}
    }
    page = write_page(
        tmp_path, [ad(3, "1", [one, pair])], metrics, "bag.png", "pose.json", "best"
    ).read_text()
    assert "every trained chain — StyleGAN2 → GFLA → ST-GAN, DCGAN → GFLA → ST-GAN — and the ad" in page
    assert "approach dcgan-gfla: DCGAN → GFLA → ST-GAN" in page and "DPIG → ST-GAN —" not in page
