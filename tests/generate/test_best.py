"""`adgen generate --approach best` follows the comparison's scores, pose error first."""

from __future__ import annotations

import json

from adgen.generate.best import best_approach


def _table(one: dict | None, two: dict | None) -> dict:
    gens = {"dcgan": {"fid": 1.0}}
    if one is not None:
        gens["approach1"] = one
    if two is not None:
        gens["approach2"] = two
    return {"poses": 4, "generators": gens}


def test_the_approach_with_the_lower_pose_error_wins_even_with_a_worse_fid():
    assert best_approach(_table({"pose_mse": 0.02, "fid": 10.0}, {"pose_mse": 0.01, "fid": 90.0})) == "2"
    assert best_approach(_table({"pose_mse": 0.01, "fid": 90.0}, {"pose_mse": 0.02, "fid": 10.0})) == "1"


def test_without_pose_error_fid_decides_then_inception_score():
    assert best_approach(_table({"fid": 50.0}, {"fid": 40.0})) == "2"
    assert best_approach(_table({"inception_score": 3.0}, {"inception_score": 2.0})) == "1"
    assert best_approach(_table({"pose_mse": 0.1, "inception_score": 2.0}, {"inception_score": 3.0})) == "2"


def test_a_chain_that_posed_nobody_loses_to_one_with_a_pose_error():
    """The demo's compare: approach 1's images showed no readable pose (no pose MSE), approach 3's
    did (0.07); the missing score was a tie on pose and approach 1 won on being first."""
    nobody, posed = (
        {"pose_found_share": 0.0, "fid": 10.0},
        {"pose_found_share": 1.0, "pose_mse": 0.07, "fid": 90.0},
    )
    assert best_approach(_table(nobody, posed)) == "2"
    assert best_approach(_table(posed, nobody)) == "1"
    # without the pose model (no pose_found_share on either) FID still decides
    assert best_approach(_table({"fid": 10.0}, {"fid": 90.0})) == "1"


def test_one_scored_approach_is_the_best_there_is_and_none_gives_none():
    assert best_approach(_table(None, {"fid": 40.0})) == "2"
    assert best_approach(_table({"fid": 40.0}, None)) == "1"
    assert best_approach(_table(None, None)) is None


def test_reads_compare_json_from_its_path_and_a_missing_or_broken_file_is_none(tmp_path):
    path = tmp_path / "compare.json"
    path.write_text(json.dumps(_table({"pose_mse": 0.3}, {"pose_mse": 0.2})))
    assert best_approach(path) == "2"
    assert best_approach(tmp_path / "missing.json") is None
    path.write_text("{not json")
    assert best_approach(path) is None


def test_an_approach_generate_could_not_load_is_never_the_favoured_one():
    table = _table({"pose_mse": 0.02}, {"pose_mse": 0.01})
    assert best_approach(table, among=["1"]) == "1"  # `best` skipped approach 2 (its model untrained)
    assert best_approach(table, among=[]) is None
