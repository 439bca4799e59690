"""`adgen review serve` takes choices from its own pages only, and writes the overrides file only."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from adgen.review.overrides import read
from adgen.review.serve import ENDPOINT
from tests.report.builders import image_id

KEPT = image_id(0)


def post(server, body: bytes, headers: dict[str, str], path: str = ENDPOINT) -> tuple[int, str]:
    req = urllib.request.Request(server.url.rstrip("/") + path, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def too_big(server, headers: dict[str, str], length: int) -> int:
    """The status for a POST announcing `length` bytes (none are sent: the server must not wait)."""
    conn = http.client.HTTPConnection(*server.server_address, timeout=30)
    conn.putrequest("POST", ENDPOINT)
    for k, v in {**headers, "Content-Length": str(length)}.items():
        conn.putheader(k, v)
    conn.endheaders()
    status = conn.getresponse().status
    conn.close()
    return status


def test_review_serve_refuses_posts_from_elsewhere_and_never_writes_another_file(served) -> None:
    params, server = served
    port = server.server_address[1]
    good = json.dumps({"version": 1, "overrides": [{"image_id": KEPT, "decision": "reject"}]}).encode()
    own = {"Origin": f"http://127.0.0.1:{port}", "Content-Type": "application/json"}
    assert post(server, good, {**own, "Origin": "http://evil.example"})[0] == 403
    assert post(server, good, {"Content-Type": "application/json"})[0] == 403  # no Origin
    assert post(server, good, {**own, "Host": "evil.example"})[0] == 403  # DNS rebinding
    assert post(server, good, {**own, "Content-Type": "text/plain"})[0] == 415  # a form could send this
    assert post(server, good, own, path="/../params.yaml")[0] == 404
    assert too_big(server, own, params.review.max_file_bytes + 1) == 413  # refused before it is read
    status, body = post(
        server, b'{"version": 1, "overrides": [{"image_id": "../../x", "decision": "keep"}]}', own
    )
    assert status == 400 and "is not a sha256 hex digest" in json.loads(body)["error"]
    assert not params.path(params.review.overrides).exists()  # nothing written by any of those
    status, body = post(server, good, own)
    assert status == 200 and json.loads(body)["flipped"] == 1
    assert set(read(params.path(params.review.overrides), params.review)) == {KEPT}
    with urllib.request.urlopen(server.url + "index.html", timeout=30) as resp:
        assert resp.status == 200  # the report itself is served


def test_review_serve_without_a_report_says_to_build_one(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("review:\n  serve_port: 0\n")
    proc = subprocess.run([sys.executable, "-m", "adgen.cli", "review", "serve"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and "run `adgen report` first" in proc.stderr
