"""A failed weekly refresh is noticed: the flow's on_failure hook notifies through the Prefect
notification block the worker names (ADGEN_FAILURE_NOTIFY), here a real webhook block posting to
an HTTP server on 127.0.0.1; the flow runs for real against Prefect's temporary server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(json.loads(body or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def test_a_failed_refresh_notifies_the_block_the_worker_names(tmp_path: Path, monkeypatch, webhook):
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    from flows.refresh_dataset import refresh_dataset

    url, received = webhook
    CustomWebhookNotificationBlock(
        name="adgen", url=url, json_data={"subject": "{{subject}}", "body": "{{body}}"}
    ).save("adgen-failures", overwrite=True)
    monkeypatch.setenv("ADGEN_FAILURE_NOTIFY", "custom-webhook/adgen-failures")
    (tmp_path / "params.yaml").write_text("{}\n")
    monkeypatch.chdir(tmp_path)  # a checkout without dvc.yaml: the refresh fails at once
    state = refresh_dataset(return_state=True)
    assert state.is_failed()
    assert received, "no notification was sent"
    assert "refresh-dataset" in received[0]["subject"]
    assert "has none of the dataset stages" in received[0]["body"]
