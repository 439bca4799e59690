"""The dataset-version panel, against real git repositories holding real dataset tags (made by the
refresh flow's own code) and a real DVC cache; and in a workspace that is no repository at all."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from adgen.orchestrate import versions
from adgen.report.build import build_report
from tests.report.builders import build_project

pytestmark = pytest.mark.slow

DVC_YAML = """stages:
  crawl:
    cmd: adgen crawl
    outs: [data/raw/manifest.parquet]
  filter:
    cmd: adgen filter
    outs: [data/filtered/manifest.parquet]
  strip:
    cmd: adgen strip
    outs: [data/stripped]
"""
STAGES = ["crawl", "filter", "strip"]
DVC = (sys.executable, "-m", "dvc")  # `make test` does not put the venv on PATH


def run(root: Path, *cmd: str) -> str:
    return subprocess.run(cmd, cwd=root, check=True, capture_output=True, text=True).stdout


def git(root: Path, *args: str) -> str:
    return run(root, "git", "-c", "user.name=t", "-c", "user.email=t@t", *args)


def tag_version(root: Path, day: int) -> versions.DatasetVersion | None:
    """What the refresh flow does after `dvc repro`: the outputs in the DVC cache, then a tag."""
    run(root, *DVC, "commit", "-f", "-q")
    kept = versions.count_kept(_params(root))
    return versions.record_dataset_version(
        root, kept, stages=STAGES, push=False, today=dt.date(2026, 11, day)
    )


def _params(root: Path):
    from adgen import config

    return config.load(root / "params.yaml")


def section(html: str, anchor: str) -> str:
    return html.split(f'id="{anchor}"')[1].split("</section>")[0]


def next_version(root: Path) -> None:
    """A refresh: two photos crawled and kept, one gone (the site took it down), one param changed."""
    raw = pd.read_parquet(root / "data/raw/manifest.parquet")
    filtered = pd.read_parquet(root / "data/filtered/manifest.parquet")
    stripped = pd.read_parquet(root / "data/stripped/manifest.parquet")
    gone = raw["image_id"].iloc[0]  # kept by the filter and the strip in the first version
    new = [f"{i:064x}" for i in (1, 2)]
    raw = pd.concat([raw[raw.image_id != gone], pd.DataFrame({"image_id": new, "site": "getty"})])
    filtered = pd.concat([filtered[filtered.image_id != gone],
                          pd.DataFrame({"image_id": new, "keep": True, "reason": "kept"})])  # fmt: skip
    stripped = pd.concat([stripped[stripped.image_id != gone],
                          pd.DataFrame({"image_id": new, "keep": True, "reason": "kept"})])  # fmt: skip
    raw.to_parquet(root / "data/raw/manifest.parquet")
    filtered.to_parquet(root / "data/filtered/manifest.parquet")
    stripped.to_parquet(root / "data/stripped/manifest.parquet")
    with (root / "params.yaml").open("a") as f:
        f.write("strip:\n  backend: grabcut\n")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    build_project(root)
    git(root, "init", "-q", "-b", "main")
    run(root, *DVC, "init", "-q")
    (root / "dvc.yaml").write_text(DVC_YAML)
    git(root, "add", "-A", ".dvc", ".dvcignore", "dvc.yaml", "params.yaml")
    git(root, "commit", "-q", "-m", "pipeline")
    return root


def test_the_panel_shows_the_version_and_what_changed_since_the_previous_one(repo: Path):
    first = tag_version(repo, 25)
    next_version(repo)
    second = tag_version(repo, 26)
    assert first and second and (first.tag, second.tag) == ("dataset-2026-11-25", "dataset-2026-11-26")
    report = build_report(_params(repo))
    assert report.sections[0] == "version"
    panel = section(report.index.read_text(), "version")
    assert '<dd id="version-current">dataset-2026-11-26</dd>' in panel
    assert "dataset-2026-11-25" in panel and "its tag says kept=3" in panel
    rows = {r[0]: r[1:] for r in re.findall(r"<tr><td>(\w+)</td>" + r"<td[^>]*>([^<]*)</td>" * 4, panel)}
    # 6 crawled, 4 kept by the filter, 3 by the strip; then one of each gone and two new
    assert rows == {
        "crawled": ("7", "6", "+2", "−1"),
        "kept": ("5", "4", "+2", "−1"),
        "stripped": ("4", "3", "+2", "−1"),
    }
    assert "Stages whose outputs changed (dvc.lock): crawl, filter, strip." in panel
    assert "<td>strip.backend</td><td>(not set)</td><td>&#34;grabcut&#34;</td>" in panel


def test_a_workspace_past_its_last_tag_is_not_a_tagged_version_and_compares_with_that_tag(repo: Path):
    tag_version(repo, 25)
    next_version(repo)
    git(repo, "commit", "-q", "-am", "params edited, not yet a version")
    head = git(repo, "rev-parse", "HEAD").strip()
    panel = section(build_report(_params(repo)).index.read_text(), "version")
    assert f"not a tagged version (commit {head[:10]})" in panel
    assert re.search(r'id="version-previous">dataset-2026-11-25 \(\d{4}-\d\d-\d\d \d\d:\d\d\)', panel)
    assert "Stages whose outputs changed" in panel  # this workspace's dvc.lock is not the tag's


def test_a_previous_version_missing_from_the_local_cache_still_shows_its_kept_count(repo: Path):
    tag_version(repo, 25)
    next_version(repo)
    tag_version(repo, 26)
    import shutil

    shutil.rmtree(repo / ".dvc/cache")
    panel = section(build_report(_params(repo)).index.read_text(), "version")
    assert "its tag says kept=3" in panel and "not in the local DVC cache" in panel
    assert '<tr><td>crawled</td><td class="num">7</td><td>—</td><td>—</td><td>—</td></tr>' in panel


def test_a_repository_without_tags_says_so_in_one_line(repo: Path):
    panel = section(build_report(_params(repo)).index.read_text(), "version")
    assert re.fullmatch(r'>\s*<h2>Dataset version</h2>\s*<p class="note" id="version-line">No dataset version '
                        r"tagged yet \(commit [0-9a-f]{10}\)[^<]*</p>\s*", panel)  # fmt: skip


def test_a_workspace_that_is_not_a_git_repository_says_so_in_one_line(tmp_path: Path):
    panel = section(build_report(build_project(tmp_path)).index.read_text(), "version")
    assert re.fullmatch(r'>\s*<h2>Dataset version</h2>\s*<p class="note" id="version-line">Not a git '
                        r"repository[^<]*</p>\s*", panel)  # fmt: skip
