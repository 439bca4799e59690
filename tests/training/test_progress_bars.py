"""StyleGAN2 and GFLA training show the project's progress bar on a terminal, and nothing on a pipe.

Each case trains a tiny model for real in a child process whose stderr is a pseudo-terminal (as a
user's shell) or a pipe (as DVC, Prefect and CI see it).
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

STYLEGAN2 = """
    import sys, torch
    from pathlib import Path
    from tests.models.stylegan2.conftest import tall_people
    from adgen.models.stylegan2.data import write_zip
    from adgen.models.stylegan2.config import StyleGAN2Params
    from adgen.models.registry import with_preset
    from adgen.models.stylegan2.train import train
    torch.set_num_threads(1)
    tmp = Path(sys.argv[1])
    data = write_zip(tmp / "people.zip", tall_people(8))
    params = with_preset(StyleGAN2Params(dataset=data, device="cpu"), "demo")
    train(params.model_copy(update={"total_kimg": 0.008, "tick_kimg": 0.008}), tmp / "run", echo=False)
"""

GFLA = """
    import sys, torch
    from pathlib import Path
    from tests.models.gfla.helpers import job, tiny_params, write_dataset, write_vgg19
    from adgen.models.gfla.train import train
    torch.set_num_threads(1)
    tmp = Path(sys.argv[1])
    data = write_dataset(tmp / "gfla", people=2, poses=2)
    vgg = write_vgg19(tmp / "vgg19.pth")
    train(job(tiny_params(vgg, flow_steps=1, steps=1, checkpoint_every=2), data, tmp / "run"), echo=False)
"""


def run(script: str, tmp: Path, terminal: bool) -> str:
    """Run `script` and return what it wrote to stdout and stderr (through a pty when `terminal`)."""
    cmd = [sys.executable, "-c", textwrap.dedent(script), str(tmp)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm-256color", "COLUMNS": "120"}
    if not terminal:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout + done.stderr
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    out = b"".join(chunks).decode(errors="replace")
    assert proc.wait(timeout=600) == 0, out[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "bar"),
    [(STYLEGAN2, "StyleGAN2 training (images)"), (GFLA, "GFLA training (steps)")],
    ids=["stylegan2", "gfla"],
)
def test_training_shows_a_progress_bar_on_a_terminal_and_none_on_a_pipe(tmp_path, script, bar):
    (tmp_path / "tty").mkdir()
    (tmp_path / "pipe").mkdir()
    on_terminal = run(script, tmp_path / "tty", terminal=True)
    assert bar in on_terminal
    assert "━" in on_terminal  # rich's bar, drawn
    on_pipe = run(script, tmp_path / "pipe", terminal=False)
    assert bar not in on_pipe and "━" not in on_pipe
