"""Every `adgen …`, `dvc …` and `prefect …` command the README and docs/ show parses with the
installed tools: each subcommand exists, each option is one the subcommand knows, and each
`dvc exp run -S key=value` names a key params.yaml holds (or adds it with `+`/`++`).

Commands come from fenced code blocks and inline code spans. Markdown conventions are undone
first: `[--opt X]` marks an optional part, `a|b` lists alternatives (each is checked), `…`, `...`
and `<placeholder>` stand for what the reader fills in. Subcommands are found by asking the tool
itself (`--help` of the longer path must differ from the shorter one's and list the word).
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

TOOLS = {"prefect": [str(Path(sys.executable).parent / "prefect")]}
DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`((?:adgen|dvc|prefect) [^`\n]+)`")
DIAGRAM = re.compile(r"[\u2500-\u257f\u25b6]")  # box drawing and arrows: a picture, not a command
# what the reader fills in: …, ..., <model>, {i}, PATH, OUT_DIR, BAG.png
PLACEHOLDER = re.compile(r"^(…|\.\.\.|.*<[^>]*>.*|.*\{[a-z]+\}.*|[A-Z][A-Z0-9_]*(\.[a-z]+)?)$")


def _commands_in(text: str) -> list[str]:
    found: list[str] = []
    for block in FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            found.extend(_split_line(line))
    for span in INLINE.findall(text):
        found.extend(_split_line(span))
    return found


def _split_line(line: str) -> list[str]:
    if DIAGRAM.search(line):
        return []
    line = line.replace("\\|", "|").strip()
    line = re.sub(r"^\$\s+", "", line)
    out = []
    for part in re.split(r"\s*(?:;|&&)\s*", line):
        part = re.sub(r"\s+#.*$", "", part).rstrip(" &").strip()
        part = re.sub(r"^(?:[A-Z_][A-Z0-9_]*=\S+\s+)+", "", part)  # VAR=value prefixes
        if re.match(r"^(adgen|dvc|prefect)\s", part):
            out.append(part)
    return out


def documented_commands() -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for doc in DOCS:
        for command in _commands_in(doc.read_text()):
            seen.setdefault(command, doc.relative_to(REPO_ROOT).as_posix())
    return sorted((doc, cmd) for cmd, doc in seen.items())


@functools.cache
def help_text(tool: str, path: tuple[str, ...]) -> str | None:
    """`<tool> <path> --help` (wide, plain), or None when the tool rejects the path.

    adgen (Typer) and dvc (argparse) answer in this process, through their own parsers: the same
    text as on the command line, without a Python start-up per question; prefect as a subprocess.
    """
    if tool == "adgen":
        return _adgen_help(path)
    if tool == "dvc":
        return _dvc_help(path)
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.run(
        [*TOOLS[tool], *path, "--help"], capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120
    )
    return proc.stdout + proc.stderr if proc.returncode == 0 else None


def _adgen_help(path: tuple[str, ...]) -> str | None:
    from typer.testing import CliRunner

    from adgen.cli import app

    result = CliRunner().invoke(
        app, [*path, "--help"], env={"COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    )
    return result.output if result.exit_code == 0 else None


def _dvc_help(path: tuple[str, ...]) -> str | None:
    import contextlib
    import io

    from dvc.cli import parse_args

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            parse_args([*path, "--help"])
        except SystemExit as exc:
            return out.getvalue() if exc.code in (0, None) else None
    return out.getvalue()


def _words(text: str) -> set[str]:
    return set(re.findall(r"[\w.-]+", text))


def _tokens(command: str) -> list[str]:
    command = command.replace("[", " ").replace("]", " ")
    try:
        tokens = shlex.split(command)
    except ValueError:
        tokens = command.split()
    return [t for t in tokens if t]


def _expand(tokens: list[str]) -> list[list[str]]:
    """One token list per alternative of the first `a|b` word that is not an option value."""
    for i, tok in enumerate(tokens):
        if "|" in tok and not tok.startswith("-") and not (i and tokens[i - 1].startswith("-")):
            alts = [a for a in tok.split("|") if a]
            return [x for alt in alts for x in _expand([*tokens[:i], alt, *tokens[i + 1 :]])]
    return [tokens]


def check(command: str) -> list[str]:
    """What is wrong with `command` against the installed tool (empty: it parses)."""
    problems = []
    for tokens in _expand(_tokens(command)):
        tool, args = tokens[0], tokens[1:]
        root = help_text(tool, ())
        assert root is not None, f"{tool} --help failed"
        path: list[str] = []
        for tok in args:
            if tok.startswith("-") or PLACEHOLDER.match(tok):
                continue
            here = help_text(tool, tuple(path))
            if here is None or tok not in _words(here):
                continue
            deeper = help_text(tool, (*path, tok))
            if deeper is not None and deeper != here:
                path.append(tok)
        if args and PLACEHOLDER.match(args[0]):
            continue  # `adgen <stage>`: a pattern, not a command
        leaf = help_text(tool, tuple(path)) or ""
        known = _words(leaf) | _words(root)
        for tok in args:
            if tok.startswith("-") and tok not in ("-", "--"):
                name = tok.split("=", 1)[0]
                if name not in known:
                    problems.append(f"`{tool} {' '.join(path)}` has no option {name}")
        if tool == "dvc" and path[:2] == ["exp", "run"]:
            problems += _unknown_set_params(args)
        rest = [t for t in args if not t.startswith("-") and not PLACEHOLDER.match(t) and t not in path]
        if rest and (not path or _is_group(tool, leaf)):
            problems.append(f"`{tool} {' '.join(path)}` has no subcommand {rest[0]!r}")
    return problems


def _is_group(tool: str, help_output: str) -> bool:
    """Does this help describe a command group (one that needs a subcommand)?"""
    if tool == "dvc":
        usage = help_output.split("\n\n", 1)[0]
        return bool(re.search(r"\{[\w-]+(,[\w-]+)+\}", usage))
    return bool(re.search(r"^\W*Commands\b", help_output, re.M))


def _unknown_set_params(args: list[str]) -> list[str]:
    """`-S key=value` must name a key params.yaml holds; `+key`/`++key` may add one."""
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    problems = []
    for flag, value in zip(args, args[1:], strict=False):
        if flag not in ("-S", "--set-param") or "=" not in value or value.startswith("+"):
            continue
        node = params
        for part in value.split("=", 1)[0].split("."):
            if not isinstance(node, dict) or part not in node:
                problems.append(f"-S {value}: params.yaml has no {value.split('=')[0]} (write ++{value})")
                break
            node = node[part]
    return problems


COMMANDS = documented_commands()


def test_the_docs_show_commands_of_all_three_tools():
    tools = {cmd.split()[0] for _, cmd in COMMANDS}
    assert tools == {"adgen", "dvc", "prefect"} and len(COMMANDS) > 50


@pytest.mark.parametrize(("doc", "command"), COMMANDS, ids=[f"{d}: {c[:60]}" for d, c in COMMANDS])
def test_every_documented_command_parses_with_the_installed_tool(doc: str, command: str):
    assert check(command) == [], f"{doc}: `{command}`"


@pytest.mark.parametrize(
    "command",
    [
        "prefect work-pool create gpu --type process --concurrency-limit 1",  # not in Prefect 3.9
        "dvc exp run -S train.stgan.warps=3 train_stgan",  # a key params.yaml doesn't hold
        "adgen train stgan --presets demo",
        "adgen trian stgan",
        "dvc exp runn -S report.thumb_px=64",
    ],
)
def test_the_checker_catches_commands_that_fail(command: str):
    assert check(command)
