"""A real Prefect server and process workers for tests: started on 127.0.0.1, stopped in order.

Reusable by any test that needs deployments (`prefect_server` fixture in conftest.py). Everything
goes through the `prefect` CLI and the server's REST API, so the test process's own Prefect
settings never matter. Each process gets its own session (process group) so stopping it also
stops the flow-run processes a worker started; workers are stopped before the server (a worker
whose server went away hangs).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

PREFECT = str(Path(sys.executable).parent / "prefect")
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGINT, then SIGTERM, then SIGKILL the process group of a process this harness started."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 5.0), (signal.SIGTERM, grace)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    try:  # flow-run processes left in the group
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class PrefectServer:
    def __init__(self, home: Path, port: int, logs: Path):
        self.home, self.port, self.logs = Path(home), port, Path(logs)
        self.api_url = f"http://127.0.0.1:{port}/api"
        self.server: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.logs.mkdir(parents=True, exist_ok=True)

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_API_URL=self.api_url,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_WORKER_QUERY_SECONDS="1",
            PREFECT_WORKER_PREFETCH_SECONDS="5",
            PREFECT_CLI_PROMPT="false",
            DVC_NO_ANALYTICS="1",
            PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        )
        env.update(extra)
        return env

    def _spawn(self, argv: list[str], log_name: str, **env: str) -> subprocess.Popen:
        log = open(self.logs / log_name, "ab")  # noqa: SIM115 - lives as long as the process
        return subprocess.Popen(
            argv, env=self.env(**env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start(self, timeout: float = 120.0) -> PrefectServer:
        self.server = self._spawn(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)], "server.log"
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"prefect server exited: {self.log('server.log')[-2000:]}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"prefect server not healthy after {timeout}s: {self.log('server.log')[-2000:]}")

    def log(self, name: str) -> str:
        path = self.logs / name
        return path.read_text(errors="replace") if path.exists() else ""

    def cli(self, *args: str, cwd: Path | None = None, timeout: float = 180.0, **env: str) -> str:
        """Run `prefect ARGS` against this server; raise with its output on failure."""
        proc = subprocess.run(
            [PREFECT, "--no-prompt", *args],
            cwd=cwd,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    def create_process_pools(self, *names: str, timeout: float = 180.0) -> None:
        """`prefect work-pool create NAME --type process` for each name, run side by side."""
        procs = [
            subprocess.Popen(
                [PREFECT, "--no-prompt", "work-pool", "create", name, "--type", "process", "--overwrite"],
                env=self.env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for name in names
        ]
        for name, proc in zip(names, procs, strict=True):
            out, _ = proc.communicate(timeout=timeout)
            if proc.returncode != 0:
                raise RuntimeError(f"work-pool create {name} failed:\n{out}")

    def start_worker(self, pool: str, **env: str) -> subprocess.Popen:
        worker = self._spawn(
            [PREFECT, "worker", "start", "--pool", pool, "--type", "process"], f"worker-{pool}.log", **env
        )
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.workers:  # workers first: one whose server went away hangs
            _stop(worker)
        self.workers.clear()
        if self.server is not None:
            _stop(self.server, grace=20.0)
            self.server = None

    # -- REST reads --------------------------------------------------------------------------------
    def get(self, path: str) -> dict:
        r = httpx.get(f"{self.api_url}{path}", timeout=10)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: dict) -> list | dict:
        r = httpx.post(f"{self.api_url}{path}", json=body, timeout=10)
        r.raise_for_status()
        return r.json()

    def deployment(self, full_name: str) -> dict:
        flow, name = full_name.split("/", 1)
        return self.get(f"/deployments/name/{flow}/{name}")

    def flow_runs_of(self, full_name: str) -> list[dict]:
        dep = self.deployment(full_name)
        return self.post("/flow_runs/filter", {"deployments": {"id": {"any_": [dep["id"]]}}})

    def wait_for_run(self, run_id: str, timeout: float) -> dict:
        """Poll a flow run until it reaches a final state; return the run (raise on timeout)."""
        deadline = time.monotonic() + timeout
        run = {}
        while time.monotonic() < deadline:
            run = self.get(f"/flow_runs/{run_id}")
            if (run.get("state") or {}).get("type") in FINAL_STATES:
                return run
            time.sleep(1)
        raise TimeoutError(f"flow run {run_id} not finished after {timeout}s: {run.get('state')}")

    def run_logs(self, run_id: str) -> str:
        """Every log line of a run, oldest first: the server answers at most 200 per request, and a
        training run logs more than that (the first 200 alone miss the commit lines at its end)."""
        messages: list[str] = []
        while True:
            page = self.post(
                "/logs/filter",
                {
                    "logs": {"flow_run_id": {"any_": [run_id]}},
                    "sort": "TIMESTAMP_ASC",
                    "limit": 200,
                    "offset": len(messages),
                },
            )
            messages += [entry["message"] for entry in page]
            if len(page) < 200:
                return "\n".join(messages)

    def wait_for_log(self, run_id: str, text: str, timeout: float = 60) -> str:
        """The run's logs once they contain `text`: a worker's process sends its last log lines in
        a batch after the run's final state is set, so a finished run's logs may still be arriving."""
        deadline = time.monotonic() + timeout
        while True:
            logs = self.run_logs(run_id)
            if text in logs or time.monotonic() > deadline:
                return logs
            time.sleep(1)
