"""Dataset versions are git tags on a commit of dvc.lock; training is triggered on growth only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from adgen.orchestrate import versions
from adgen.orchestrate.versions import DatasetVersion
from tests.orchestrate.conftest import git, lock_with

DAY = dt.date(2026, 11, 25)
STAGES = ["crawl", "filter"]


DVC_YAML = """stages:
  crawl:
    cmd: adgen crawl
    outs: [data/raw/manifest.parquet, data/raw/rejects.parquet]
    metrics: [{data/raw/crawl_stats.json: {cache: false}}]
  filter:
    cmd: adgen filter
    outs: [data/filtered/manifest.parquet, {data/filtered/contact_sheet.html: {type: summary}}]
    metrics: [{metrics/filter.json: {cache: false}}]
  train_stgan:
    cmd: adgen train stgan
    outs: [data/models/stgan/dvc]
    metrics: [{metrics/stgan.json: {cache: false}}]
  train_stylegan2:
    cmd: adgen train stylegan2
    outs: [data/models/stylegan2/dvc]
    metrics: [{metrics/stylegan2.json: {cache: false}}]
  train_gfla:
    cmd: adgen train gfla
    outs: [data/models/gfla/dvc, {metrics/gfla.info.json: {cache: false}}]
    metrics: [{metrics/gfla.json: {cache: false}}]
  report:
    cmd: adgen report
    outs: [{report: {type: summary}}]
"""


def write_lock(root: Path, filter_md5: str, crawl_md5: str = "c1", sheet_md5: str = "s1") -> None:
    """A dvc.lock as DVC writes it (metrics and cache: false outputs are listed under outs too)."""
    (root / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n"
        "  crawl:\n    cmd: adgen crawl\n    outs:\n"
        f"    - path: data/raw/manifest.parquet\n      md5: {crawl_md5}\n"
        f"    - path: data/raw/rejects.parquet\n      md5: rej-{crawl_md5}\n"
        f"    - path: data/raw/crawl_stats.json\n      md5: stats-{crawl_md5}\n"
        "  filter:\n    cmd: adgen filter\n    outs:\n"
        f"    - path: data/filtered/manifest.parquet\n      md5: {filter_md5}\n"
        f"    - path: data/filtered/contact_sheet.html\n      md5: {sheet_md5}\n"
        f"  report:\n    cmd: adgen report\n    outs:\n    - path: report\n      md5: r-{filter_md5}-{crawl_md5}\n"
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "dvc.yaml").write_text(DVC_YAML)
    git(tmp_path, "add", "dvc.yaml")
    git(tmp_path, "commit", "-q", "-m", "init")
    return tmp_path


def test_first_version_is_tagged_with_the_date_and_kept_count(repo: Path):
    write_lock(repo, "f1")
    v = versions.record_dataset_version(repo, 12, stages=STAGES, push=False, today=DAY)
    assert v is not None and v.tag == "dataset-2026-11-25" and v.kept == 12
    assert git(repo, "rev-parse", "dataset-2026-11-25^{commit}").strip() == v.commit
    assert "dvc.lock" in git(repo, "show", "--name-only", "--format=", v.commit)
    assert versions.latest_version(repo) == v


def test_nothing_new_records_no_version(repo: Path):
    write_lock(repo, "f1")
    versions.record_dataset_version(repo, 12, stages=STAGES, push=False, today=DAY)
    write_lock(repo, "f1")
    assert versions.record_dataset_version(repo, 12, stages=STAGES, push=False, today=DAY) is None
    assert git(repo, "tag", "--list").split() == ["dataset-2026-11-25"]


def test_a_change_outside_the_dataset_stages_is_not_a_new_version(repo: Path):
    write_lock(repo, "f1")
    versions.record_dataset_version(repo, 12, stages=STAGES, push=False, today=DAY)
    text = (repo / "dvc.lock").read_text().replace("r-f1-c1", "r-other")
    (repo / "dvc.lock").write_text(text)
    assert not versions.dataset_changed(repo, STAGES)


def test_a_recrawl_that_only_changed_rejects_stats_or_contact_sheets_is_not_a_new_version(repo: Path):
    write_lock(repo, "f1")
    versions.record_dataset_version(repo, 12, stages=STAGES, push=False, today=DAY)
    write_lock(repo, "f1", crawl_md5="c2", sheet_md5="s2")  # new rejects and stats, re-rendered sheet
    assert versions.record_dataset_version(repo, 12, stages=STAGES, push=False, today=DAY) is None


def test_a_crawl_only_dag_versions_the_raw_data(repo: Path):
    (repo / "dvc.yaml").write_text(DVC_YAML.split("  filter:")[0])
    write_lock(repo, "f1")
    assert versions.record_dataset_version(repo, 5, stages=["crawl"], push=False, today=DAY) is not None
    write_lock(repo, "f1", crawl_md5="c2")
    assert versions.dataset_changed(repo, ["crawl"])


def test_a_second_version_on_the_same_day_gets_a_suffix_and_becomes_the_latest(repo: Path):
    write_lock(repo, "f1")
    first = versions.record_dataset_version(repo, 10, stages=STAGES, push=False, today=DAY)
    write_lock(repo, "f2")
    second = versions.record_dataset_version(repo, 15, stages=STAGES, push=False, today=DAY)
    assert second is not None and second.tag == "dataset-2026-11-25.2"
    latest = versions.latest_version(repo)
    assert latest is not None and latest.tag == second.tag and latest.kept == 15
    assert first is not None and first.commit != second.commit


def test_no_version_yet_means_none(repo: Path):
    assert versions.latest_version(repo) is None


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (None, 5, True),  # the first version with any kept image
        (None, 0, False),
        (100, 111, True),  # 11% > 10%
        (100, 110, False),  # exactly 10% is not more than 10%
        (100, 90, False),
        (0, 3, True),
    ],
)
def test_training_is_triggered_only_when_the_kept_set_grew_past_the_threshold(previous, current, expected):
    prev = DatasetVersion("dataset-a", previous, "0" * 40) if previous is not None else None
    cur = DatasetVersion("dataset-b", current, "1" * 40)
    assert versions.should_retrain(prev, cur, 0.10) is expected


def test_no_new_version_never_triggers_training():
    assert not versions.should_retrain(None, None, 0.0)


def test_a_dataset_version_commits_the_params_and_metrics_it_was_made_with_not_other_edits(repo: Path):
    (repo / "params.yaml").write_text("train: {stgan: {preset: demo}}\n")
    (repo / "metrics").mkdir()
    (repo / "metrics" / "filter.json").write_text('{"kept": 3}\n')
    (repo / "notes.txt").write_text("the user's own work in progress\n")
    git(repo, "add", "notes.txt")
    write_lock(repo, "f1")
    v = versions.record_dataset_version(repo, 3, stages=STAGES, push=False, today=DAY)
    committed = set(git(repo, "show", "--name-only", "--format=", v.commit).split())
    assert committed == {"dvc.lock", "params.yaml", "metrics/filter.json"}
    assert "notes.txt" in git(repo, "diff", "--cached", "--name-only")  # still staged, not committed


def test_after_training_nothing_of_the_pipeline_state_is_left_uncommitted(repo: Path):
    (repo / "dvc.lock").write_text(lock_with(train_stgan="t1"))
    versions.commit_pipeline_state(repo, "first")
    (repo / "params.yaml").write_text("train: {stgan: {warps: 3}}\n")
    (repo / "metrics").mkdir()
    (repo / "metrics" / "stgan.json").write_text('{"iterations": 8}\n')
    (repo / "dvc.lock").write_text(lock_with(train_stgan="t2"))
    assert versions.commit_lock(repo, "Train stgan", ["train_stgan"])
    assert git(repo, "status", "--porcelain").strip() == ""
    assert not versions.commit_lock(repo, "Train stgan", ["train_stgan"])  # nothing changed since


def committed_lock(repo: Path) -> dict:
    import yaml

    return {
        s: e["outs"][0]["md5"]
        for s, e in yaml.safe_load(git(repo, "show", "HEAD:dvc.lock"))["stages"].items()
    }


def test_a_training_commit_does_not_carry_the_metrics_deletion_left_by_a_cancelled_run(repo: Path):
    (repo / "metrics").mkdir()
    for model in ("stylegan2", "gfla"):
        (repo / "metrics" / f"{model}.json").write_text('{"step": 1}\n')
    (repo / "dvc.lock").write_text(lock_with(train_stylegan2="s1", train_gfla="g1"))
    assert versions.commit_pipeline_state(repo, "both trained")
    (repo / "metrics" / "stylegan2.json").unlink()  # a cancelled `dvc repro train_stylegan2` did this
    (repo / "metrics" / "gfla.json").write_text('{"step": 2}\n')
    (repo / "metrics" / "gfla.info.json").write_text('{"run_dir": "x"}\n')
    (repo / "dvc.lock").write_text(lock_with(train_stylegan2="s1", train_gfla="g2"))
    assert versions.commit_pipeline_state(repo, "Train gfla", ["train_gfla"])
    changes = git(repo, "show", "--name-status", "--format=", "HEAD").split("\n")
    assert sorted(c for c in changes if c) == [
        "A\tmetrics/gfla.info.json",
        "M\tdvc.lock",
        "M\tmetrics/gfla.json",
    ]
    assert git(repo, "show", "HEAD:metrics/stylegan2.json")  # still in the commit
    assert "D metrics/stylegan2.json" in git(repo, "status", "--porcelain")  # still the checkout's own


def test_a_training_commit_does_not_carry_the_crawl_entry_of_a_refresh_that_was_not_pushed(repo: Path):
    (repo / "dvc.lock").write_text(lock_with(crawl="c1", train_stgan="t1"))
    assert versions.commit_pipeline_state(repo, "first")
    (repo / "dvc.lock").write_text(lock_with(crawl="c2-unpushed", train_stgan="t2"))
    assert versions.commit_pipeline_state(repo, "Train stgan", ["train_stgan"])
    assert committed_lock(repo) == {"crawl": "c1", "train_stgan": "t2"}
    assert "dvc.lock" in git(repo, "status", "--porcelain")  # the crawl entry stays uncommitted
    assert git(repo, "diff", "--cached", "--name-only").strip() == ""  # nothing left staged either


def test_a_refresh_that_only_recorded_crawl_rejects_has_its_crawl_entry_to_commit(repo: Path):
    write_lock(repo, "f1")
    versions.record_dataset_version(repo, 12, stages=STAGES, push=False, today=DAY)
    assert not versions.stages_changed(repo, STAGES)
    write_lock(repo, "f1", crawl_md5="c2")  # new rejects and stats, the same dataset
    assert versions.record_dataset_version(repo, 12, stages=STAGES, push=False, today=DAY) is None
    assert versions.stages_changed(repo, STAGES) and not versions.stages_changed(repo, ["filter"])
    assert versions.commit_pipeline_state(repo, "crawl records", STAGES)
    assert not versions.stages_changed(repo, STAGES)  # nothing of the dataset stages left behind
