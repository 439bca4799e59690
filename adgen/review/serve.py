"""`adgen review serve`: the report on 127.0.0.1, taking reviewers' choices straight into the project.

A static file server over the report directory plus one endpoint, `POST /api/overrides`, whose body
is an overrides file as JSON (adgen.review.overrides) merged into `review.overrides` exactly as
`adgen review apply` does. The server binds 127.0.0.1 only and answers a POST only when
- the Host header names this server (127.0.0.1:PORT or localhost:PORT: no DNS rebinding),
- the Origin header is this server's own origin (no other page can post: a cross-site form can't
  send JSON, and a script on another origin is refused here),
- the body is `application/json` and at most `review.max_file_bytes`.
Nothing from the request names a file: the only file written is the project's overrides file.
A GET serves only a regular file whose resolved path is inside the report directory (a symlink in
report/ that leads out is a 404, like a missing file), and a directory only through its index.html:
there is no directory listing.
"""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from adgen.config import Params
from adgen.errors import UserError
from adgen.review.apply import apply_choices
from adgen.review.overrides import parse

ENDPOINT = "/api/overrides"
HOST = "127.0.0.1"


class ReviewHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of the report directory + the overrides endpoint."""

    server: ReviewServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        if self.server.verbose:
            super().log_message(format, *args)

    def _origins(self) -> set[str]:
        port = self.server.server_address[1]
        return {f"{HOST}:{port}", f"localhost:{port}"}

    def _host_ok(self) -> bool:
        return self.headers.get("Host", "") in self._origins()

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if not self._host_ok():
            self._answer(403, {"error": "unknown Host: open the report at http://127.0.0.1:PORT/"})
            return
        if self.path == "/favicon.ico":  # the report has none: no error in the reviewer's console
            self.send_response(204)
            self.end_headers()
            return
        super().do_GET()

    def send_head(self):
        """The base class's file answer, for regular files inside the report only (else 404)."""
        if self._served_file() is None:
            self.send_error(404, "File not found")
            return None
        return super().send_head()

    def _served_file(self) -> Path | None:
        """The file a GET may answer with: resolved (symlinks followed) inside the report directory,
        and a regular file (a directory counts as its index.html)."""
        root = Path(self.directory).resolve()
        asked = Path(self.translate_path(self.path))
        if asked.is_dir():
            if not self.path.split("?")[0].split("#")[0].endswith("/"):
                return asked  # the base class redirects to "dir/", which comes back here
            asked = asked / "index.html"
        try:
            real = asked.resolve(strict=True)
        except (OSError, RuntimeError):  # missing, or a symlink loop
            return None
        if real != root and root not in real.parents:
            return None
        return real if real.is_file() else None

    def list_directory(self, path):  # noqa: ARG002 - the base class's signature
        self.send_error(404, "File not found")  # never a listing of the report directory
        return None

    def do_HEAD(self) -> None:
        if not self._host_ok():
            self._answer(403, {"error": "unknown Host"})
            return
        super().do_HEAD()

    def do_POST(self) -> None:
        refusal = self._refusal()
        if refusal is not None:
            status, message = refusal
            self._answer(status, {"error": message})
            return
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        params = self.server.params
        try:
            incoming = parse(body, "posted overrides", params.review, as_json=True)
            with self.server.lock:  # one merge at a time: read, merge, atomic write
                result = apply_choices(params, incoming)
        except UserError as exc:
            self._answer(400, {"error": str(exc)})
            return
        path = params.path(params.review.overrides)
        self._answer(200, {**asdict(result), "message": result.summary(path)})

    def _refusal(self) -> tuple[int, str] | None:
        if self.path.split("?")[0] != ENDPOINT:
            return 404, f"POST goes to {ENDPOINT} only"
        if not self._host_ok():
            return 403, "unknown Host: open the report at http://127.0.0.1:PORT/"
        origin = self.headers.get("Origin", "")
        if origin.removeprefix("http://") not in self._origins() or not origin.startswith("http://"):
            return 403, "Origin is not this server: choices are accepted from its own pages only"
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return 415, "send the overrides as application/json"
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return 411, "Content-Length required"
        if length < 0 or length > self.server.params.review.max_file_bytes:
            return 413, f"body over review.max_file_bytes ({self.server.params.review.max_file_bytes})"
        return None


class ReviewServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, params: Params, report_dir: Path, port: int, verbose: bool = False):
        self.params = params
        self.verbose = verbose
        self.lock = threading.Lock()
        handler = partial(ReviewHandler, directory=str(report_dir))
        super().__init__((HOST, port), handler)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"


def review_server(params: Params, port: int | None = None, verbose: bool = False) -> ReviewServer:
    """A server (not yet serving) for the report at `paths.report`; one line if there is none."""
    report = params.path(params.paths.report)
    if not (report / "index.html").is_file():
        raise UserError(f"{report}/index.html: no report yet; run `adgen report` first")
    port = params.review.serve_port if port is None else port
    try:
        return ReviewServer(params, report, port, verbose)
    except OSError as exc:
        raise UserError(
            f"{HOST}:{port}: cannot listen ({exc.strerror}); pick another --port or stop what uses it"
        ) from None
