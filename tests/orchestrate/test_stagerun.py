"""A training stage's persisted run dir: a stopped attempt with the same options is resumed, anything
else is started over (adgen/training/stagerun.py); the DVC round trip is in test_dvc_pipeline.py."""

from __future__ import annotations

from pathlib import Path

from adgen.training import stagerun

OPTIONS = {"total_steps": 100, "lr": 0.0002, "sizes": [32, 16]}


def attempt(run_dir: Path, options: dict = OPTIONS, model: str = "dcgan") -> str:
    said = stagerun.prepare(run_dir, model, options)
    (run_dir / "checkpoint-000050.pt").write_bytes(b"x")  # the trainer got this far
    return said


def test_a_new_run_dir_is_a_new_run(tmp_path: Path):
    assert stagerun.prepare(tmp_path / "dvc", "dcgan", OPTIONS).endswith("a new run")


def test_a_stopped_attempt_with_the_same_options_is_kept_for_the_trainer_to_resume(tmp_path: Path):
    run = tmp_path / "dvc"
    attempt(run)
    said = stagerun.prepare(run, "dcgan", dict(OPTIONS))
    assert "resuming the stopped attempt" in said
    assert (run / "checkpoint-000050.pt").exists()


def test_a_finished_run_is_started_over(tmp_path: Path):
    run = tmp_path / "dvc"
    attempt(run)
    stagerun.finish(run)
    said = stagerun.prepare(run, "dcgan", OPTIONS)
    assert "starting over" in said and "finished run" in said
    assert not (run / "checkpoint-000050.pt").exists()


def test_a_stopped_attempt_with_other_options_or_of_another_model_is_started_over(tmp_path: Path):
    run = tmp_path / "dvc"
    attempt(run)
    assert "other options" in stagerun.prepare(run, "dcgan", {**OPTIONS, "total_steps": 200})
    assert not (run / "checkpoint-000050.pt").exists()
    attempt(run)
    assert "other options" in stagerun.prepare(run, "stylegan2", OPTIONS)


def test_a_run_dir_without_a_note_is_started_over(tmp_path: Path):
    run = tmp_path / "dvc"
    run.mkdir()
    (run / "checkpoint-000050.pt").write_bytes(b"x")  # e.g. trained before --dvc-stage existed
    assert "without a stage note" in stagerun.prepare(run, "dcgan", OPTIONS)
    assert list(p.name for p in run.iterdir()) == [stagerun.NOTE]
