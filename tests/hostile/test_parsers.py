"""Issue 27, cases 7-10: hostile YAML and JSON files get one line, not a hang or a traceback, and
the review server serves only regular files under report/.

Before the fix a 450-byte YAML alias bomb ("billion laughs") given to `adgen review apply` ran for
minutes past 1.7 GB; a 100k-deep `[[[…` ended `adgen review apply`, `adgen generate --pose` and
`adgen sample dpig --pose` in a RecursionError traceback (and dropped the review server's
connection); a pose with NaN coordinates ended in `cannot convert float NaN to integer`; a symlink
in report/ to /etc/passwd was served, and directory listing was on.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from adgen.errors import UserError
from adgen.pose.contract import normalise_keypoints, read_pose

from .conftest import REPO_ROOT, adgen, error_line, write_png

# Nine levels of nine aliases: 9**9 = 387,420,489 "lol"s once built, from ~450 bytes.
ALIAS_BOMB = (
    "version: 1\n"
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))
    + "overrides: *i\n"
)
DEEP = 100_000
DEEP_JSON = "[" * DEEP + "]" * DEEP
# A bomb or a deep file must be refused in well under this (before the fix: minutes, or a traceback).
QUICK = 120


def pose_points() -> list[list[float]]:
    return [[0.3 + 0.02 * i, 0.1 + 0.04 * i, 1.0] for i in range(18)]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project (default params) with a bag cut-out for `generate --bag`."""
    (tmp_path / "params.yaml").write_text("{}\n")
    write_png(tmp_path / "bag.png", mode="RGBA")
    return tmp_path


def test_a_yaml_alias_bomb_given_to_review_apply_is_one_line(project: Path) -> None:
    assert len(ALIAS_BOMB) < 500
    (project / "bomb.yaml").write_text(ALIAS_BOMB)
    line = error_line(adgen("review", "apply", "bomb.yaml", cwd=project, timeout=QUICK))
    assert "anchors and aliases" in line and len(line) < 300


def test_a_yaml_alias_bomb_as_the_projects_overrides_file_is_one_line(project: Path) -> None:
    (project / "review").mkdir()
    (project / "review" / "overrides.yaml").write_text(ALIAS_BOMB)
    (project / "mine.yaml").write_text("version: 1\noverrides: []\n")
    line = error_line(adgen("review", "apply", "mine.yaml", cwd=project, timeout=QUICK))
    assert "review/overrides.yaml" in line and "anchors and aliases" in line and len(line) < 300


def test_a_yaml_alias_bomb_as_params_or_preset_is_one_line(project: Path) -> None:
    bomb = ALIAS_BOMB.replace("version: 1\n", "").replace("overrides: *i", "crawl: {queries: *i}")
    (project / "presets").mkdir()
    (project / "presets" / "bomb.yaml").write_text(bomb)
    line = error_line(adgen("preset", "apply", "bomb", cwd=project, timeout=QUICK))
    assert "bomb.yaml" in line and "anchors and aliases" in line
    (project / "params.yaml").write_text(bomb)
    line = error_line(adgen("config", "show", cwd=project, timeout=QUICK))
    assert "params.yaml" in line and "anchors and aliases" in line and len(line) < 300


DEEP_FILES = [
    ("deep.json", DEEP_JSON, ("review", "apply", "deep.json")),
    ("deep.yaml", DEEP_JSON, ("review", "apply", "deep.yaml")),
    ("deep.json", DEEP_JSON, ("generate", "--pose", "deep.json", "--bag", "bag.png", "-o", "out")),
    ("deep.json", DEEP_JSON, ("sample", "dpig", "--pose", "deep.json", "-o", "out")),
    ("params.yaml", "crawl:\n  queries: " + DEEP_JSON + "\n", ("config", "show")),
]


@pytest.mark.parametrize(
    ("name", "text", "argv"), DEEP_FILES, ids=[" ".join(a[:2]) + " " + n for n, _, a in DEEP_FILES]
)
def test_a_100k_deep_file_is_one_line_not_a_recursion_error(
    project: Path, name: str, text: str, argv: tuple[str, ...]
) -> None:
    (project / name).write_text(text)
    line = error_line(adgen(*argv, cwd=project, timeout=QUICK))
    assert "nested more than" in line
    assert not (project / "out").exists()


@pytest.mark.parametrize("command", ["generate", "sample dpig"])
def test_a_pose_with_nan_coordinates_is_one_line(project: Path, command: str) -> None:
    (project / "pose.json").write_text(json.dumps(pose_points()).replace("0.3,", "NaN,", 1))
    extra = ("--bag", "bag.png") if command == "generate" else ()
    line = error_line(adgen(*command.split(), "--pose", "pose.json", *extra, "-o", "out", cwd=project))
    assert "--pose pose.json" in line and "finite" in line
    assert not (project / "out").exists()


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_pose_file_with_a_non_finite_number_is_refused(tmp_path: Path, number: str) -> None:
    path = tmp_path / "pose.json"
    path.write_text(json.dumps(pose_points()).replace("0.3,", f"{number},", 1))
    with pytest.raises(UserError, match="finite") as refused:
        read_pose(path, (16, 32))
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_normalise_keypoints_refuses_nan_and_infinity(bad: float) -> None:
    points = np.asarray(pose_points())
    points[3, 0] = bad
    with pytest.raises(UserError, match="finite"):
        normalise_keypoints(points.tolist(), "pose")
    points[3] = (bad, bad, 1.0)  # NaN passes every range check: it must not pass as "present"
    with pytest.raises(UserError, match="finite"):
        normalise_keypoints(points.tolist(), "pose")


def test_an_error_never_renders_a_whole_huge_value(project: Path) -> None:
    (project / "params.yaml").write_text(f"train:\n  sfgan:\n    device: {'x' * 500_000}\n")
    line = error_line(adgen("config", "show", cwd=project))
    assert "train.sfgan.device" in line and len(line) < 400
    (project / "params.yaml").write_text("{}\n")
    huge = {"version": 1, "overrides": [{"image_id": "0" * 64, "decision": ["keep"] * 100_000}]}
    (project / "huge.json").write_text(json.dumps(huge))
    line = error_line(adgen("review", "apply", "huge.json", cwd=project))
    assert "decision" in line and len(line) < 400


# --- adgen review serve -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture
def serving(project: Path):
    """`adgen review serve` (the real command) over a report/ holding a symlink to /etc/passwd, a
    symlinked directory leading out, and a sub-directory without index.html."""
    report = project / "report"
    (report / "photos").mkdir(parents=True)
    (report / "index.html").write_text("<html>report</html>")
    (report / "photos" / "a.html").write_text("<html>a photo</html>")
    (report / "passwd").symlink_to("/etc/passwd")
    outside = project / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (report / "out").symlink_to(outside)
    (report / "inner.html").symlink_to(report / "photos" / "a.html")  # a link that stays inside
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "adgen.cli", "review", "serve", "--port", str(port)],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                if _get(url)[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("adgen review serve did not start")
        yield url, port, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_review_serve_serves_only_regular_files_inside_report(serving) -> None:
    url, _, proc = serving
    assert _get(url) == (200, b"<html>report</html>")
    assert _get(url + "photos/a.html") == (200, b"<html>a photo</html>")
    assert _get(url + "inner.html") == (200, b"<html>a photo</html>")  # a link inside report/ is fine
    status, body = _get(url + "passwd")
    assert status == 404 and b"root:" not in body
    assert _get(url + "out/secret.txt")[0] == 404
    status, body = _get(url + "photos/")  # no index.html there: no listing either
    assert status == 404 and b"a.html" not in body
    assert _get(url + "out/")[0] == 404
    assert proc.poll() is None


def test_review_serve_answers_a_100k_deep_post_with_one_line(serving) -> None:
    url, port, proc = serving
    req = urllib.request.Request(
        url + "api/overrides",
        data=DEEP_JSON.encode(),
        method="POST",
        headers={"Origin": f"http://127.0.0.1:{port}", "Content-Type": "application/json"},
    )
    try:
        urllib.request.urlopen(req, timeout=30)
        status, body = 200, b""
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    assert status == 400 and "nested more than" in json.loads(body)["error"]
    assert _get(url)[0] == 200  # still serving
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err and "RecursionError" not in err
