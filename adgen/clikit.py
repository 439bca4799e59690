"""What every area's CLI module needs: the command groups and the loaded params.

Each area keeps its commands in its own `cli.py` with a `register(groups)` function, so the root
CLI stays a list of areas. Command bodies import heavy libraries (TensorFlow, torch, Scrapy)
inside the function: `adgen --help` must stay fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from adgen import config


@dataclass(frozen=True)
class CliGroups:
    """The command groups several areas add to. Each is made once, by `under(root)`, and handed to
    every area's `register`: no area owns a group another one mutates."""

    root: typer.Typer
    train: typer.Typer
    sample: typer.Typer
    evaluate: typer.Typer  # `adgen evaluate …`: every scorer (images, compare, gfla, composites)

    @classmethod
    def under(cls, root: typer.Typer) -> CliGroups:
        """The shared groups, created and added to `root` (here only)."""
        groups = cls(
            root=root,
            train=typer.Typer(help="Train a model (run dirs under paths.models).", no_args_is_help=True),
            sample=typer.Typer(help="Sample from a trained model.", no_args_is_help=True),
            evaluate=typer.Typer(
                help="Score images and trained models (IS, FID, pose error, …) into DVC metrics.",
                no_args_is_help=True,
            ),
        )
        root.add_typer(groups.train, name="train")
        root.add_typer(groups.sample, name="sample")
        root.add_typer(groups.evaluate, name="evaluate")
        return groups


@dataclass
class CliState:
    params_path: Path
    # The fixture site's mask renderer (truth entry, seed) -> masks, for `adgen strip --ground-truth`.
    # adgen/cli.py hands it in: the root CLI is where the offline stand-ins are wired, so no area
    # imports adgen.fixtures (tests/test_boundaries.py).
    fixture_masks: Callable[[dict, int | None], dict[str, Any]] | None = None
    _params: config.Params | None = None

    def params(self) -> config.Params:
        if self._params is None:
            self._params = config.load(self.params_path)
        return self._params


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if root.obj is None:
        root.obj = CliState(Path("params.yaml"))
    return root.obj


def params(ctx: typer.Context) -> config.Params:
    """The params for this invocation (`--params`, else ./params.yaml)."""
    return state(ctx).params()


def parse_shard(text: str | None) -> tuple[int, int]:
    """`i/n` (0-based i) → (i, n); None → (0, 1)."""
    from adgen.errors import UserError

    if text is None:
        return 0, 1
    try:
        i_s, n_s = text.split("/")
        i, n = int(i_s), int(n_s)
    except ValueError:
        raise UserError(f"--shard {text!r}: expected i/n, e.g. 0/4") from None
    if n < 1 or not 0 <= i < n:
        raise UserError(f"--shard {text!r}: need 0 <= i < n")
    return i, n
