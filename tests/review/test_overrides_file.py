"""The overrides file is read as hostile input: every fault is one line naming what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adgen.config.review import ReviewParams
from adgen.errors import UserError
from adgen.review.overrides import Override, dump, parse, read

A, B = "a" * 64, "b" * 64
LIMITS = ReviewParams()


def yaml_file(*entries: str) -> bytes:
    return ("version: 1\noverrides:\n" + "".join(entries)).encode()


def test_a_reviewers_file_reads_into_one_override_per_photo() -> None:
    got = parse(
        yaml_file(
            f"- {{image_id: {A}, decision: keep, note: 'bag in hand', by: alice, at: 2026-01-05T10:12:00Z}}\n",
            f"- {{image_id: {B}, decision: reject}}\n",
        ),
        "f.yaml",
        LIMITS,
    )
    assert got[A] == Override(A, "keep", "bag in hand", "alice", "2026-01-05T10:12:00+00:00")
    assert got[B].keep is False and got[B].note is None


def test_the_browsers_json_download_reads_the_same() -> None:
    body = json.dumps({"version": 1, "overrides": [{"image_id": A, "decision": "rule"}]}).encode()
    assert parse(body, "f.json", LIMITS, as_json=True) == {A: Override(A, "rule")}


def test_what_is_written_reads_back_the_same(tmp_path: Path) -> None:
    overrides = {B: Override(B, "reject", "two people: 'no' <b>"), A: Override(A, "keep", by="bob")}
    path = tmp_path / "o.yaml"
    path.write_text(dump(overrides))
    assert read(path, LIMITS) == overrides
    assert path.read_text().index(A) < path.read_text().index(B)  # sorted: stable diffs in git


def test_an_empty_or_missing_file_holds_no_overrides(tmp_path: Path) -> None:
    assert parse(b"", "f", LIMITS) == {}
    assert parse(b"# nothing yet\n", "f", LIMITS) == {}
    assert read(tmp_path / "missing.yaml", LIMITS) == {}


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (yaml_file("- {image_id: ../../etc/passwd, decision: keep}\n"), "is not a sha256 hex digest"),
        (yaml_file(f"- {{image_id: {A.upper()}, decision: keep}}\n"), "is not a sha256 hex digest"),
        (yaml_file(f"- {{image_id: {A}/x, decision: keep}}\n"), "is not a sha256 hex digest"),
        (yaml_file("- {image_id: 12, decision: keep}\n"), "is not a sha256 hex digest"),
        (yaml_file(f"- {{image_id: {A}, decision: maybe}}\n"), "must be one of keep, reject, rule"),
        (yaml_file(f"- {{image_id: {A}, decision: keep, colour: red}}\n"), "unknown key(s) 'colour'"),
        (yaml_file(f"- {{image_id: {A}, decision: keep, note: [1]}}\n"), "note must be text"),
        (
            yaml_file(f"- {{image_id: {A}, decision: keep}}\n", f"- {{image_id: {A}, decision: reject}}\n"),
            "given twice",
        ),
        (b"version: 1\noverrides: []\nowner: me\n", "unknown key(s) 'owner'"),
        (b"version: 2\noverrides: []\n", "version 2 is not 1"),
        (b"overrides: []\n", "version None is not 1"),
        (b"- a\n- b\n", "expected a mapping"),
        (b"version: 1\noverrides: {a: b}\n", "must be a list"),
        (yaml_file("- just a string\n"), "expected a mapping"),
        (b"version: 1\noverrides: [\n", "not a valid overrides file"),
        (b"!!python/object/apply:os.system ['true']\n", "not a valid overrides file"),
        (b"\xff\xfe\x00", "not UTF-8"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_fault(data: bytes, says: str) -> None:
    with pytest.raises(UserError) as err:
        parse(data, "f.yaml", LIMITS)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_duplicate_keys_in_json_are_refused() -> None:
    body = b'{"version": 1, "overrides": [], "overrides": [{"image_id": "x"}]}'
    with pytest.raises(UserError, match="given twice"):
        parse(body, "f.json", LIMITS, as_json=True)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    limits = ReviewParams(max_file_bytes=1024)
    big = tmp_path / "big.yaml"
    big.write_bytes(yaml_file(*[f"- {{image_id: {A}, decision: keep}}\n"] * 40))
    with pytest.raises(UserError, match="over review.max_file_bytes"):
        read(big, limits)


def test_too_many_entries_or_too_long_a_note_are_refused() -> None:
    limits = ReviewParams(max_entries=1, max_note_chars=5)
    with pytest.raises(UserError, match="over review.max_entries"):
        parse(
            yaml_file(f"- {{image_id: {A}, decision: keep}}\n", f"- {{image_id: {B}, decision: keep}}\n"),
            "f",
            limits,
        )
    with pytest.raises(UserError, match="at most 5"):
        parse(yaml_file(f"- {{image_id: {A}, decision: keep, note: too long}}\n"), "f", limits)


def test_the_projects_file_in_the_repository_is_valid_and_named_by_the_filter_stage(repo_root: Path) -> None:
    import yaml

    from adgen import config

    params = config.load(repo_root / "params.yaml")
    assert read(params.path(params.review.overrides), params.review) == {}  # a fresh clone: none yet
    deps = yaml.safe_load((repo_root / "dvc.yaml").read_text())["stages"]["filter"]["deps"]
    assert params.review.overrides.as_posix() in deps
