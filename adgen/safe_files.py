"""The one reader for YAML and JSON that users hand to adgen: params, presets, overrides, poses.

A parser given a hostile file must not hang, eat memory or crash: a 450-byte YAML "billion laughs"
(anchors and aliases nesting nine deep) expands to gigabytes once built, and a 100k-deep `[[[…`
makes Python's recursive builders (json, PyYAML and ruamel composers) end in `RecursionError`.
So every user file is checked *before* anything is built from it:

- its size (`max_bytes`, a file over it is not even decoded),
- YAML: no anchors or aliases at all (`&a` / `*a`: no params, preset or overrides file needs them,
  and refusing them is what makes an alias bomb impossible rather than merely bounded),
- its nesting depth (`max_depth`, counted on the parser's event stream for YAML and on the brackets
  outside strings for JSON), stopping at the first level too deep,
- JSON: no `NaN` / `Infinity` (not JSON, though Python's json reads them).

YAML is read as YAML 1.2 (ruamel, the library DVC uses: `dvc exp run -S` and adgen agree on what a
value is). Every refusal is one `UserError` line naming the file; no message renders a whole value
(`shown` cuts it before formatting).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from adgen.errors import UserError

# Bigger than any real params.yaml (~15 kB), preset or pose file; overrides pass their own limit.
MAX_BYTES = 1_000_000
# params.yaml nests 4 deep, an overrides file 3, a pose file 3.
MAX_DEPTH = 20
SHOWN_CHARS = 80


class FileFormatError(UserError, ValueError):
    """A user file that is not what it should be; a ValueError for per-item handlers."""


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """`repr(value)` cut to `limit` characters, cut *before* formatting: a huge list or string
    (a file's value) is never rendered whole, only its first items."""
    if isinstance(value, str | bytes):
        text = repr(value[: limit + 1])
    elif isinstance(value, list | tuple | dict | set):
        head = list(value.items() if isinstance(value, dict) else value)[:8]
        text = repr(type(value)(dict(head) if isinstance(value, dict) else head)) if head else repr(value)
        if len(head) < len(value):
            text = text[:-1] + ", ...]"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _text(data: str | bytes, source: str, max_bytes: int) -> str:
    size = len(data.encode() if isinstance(data, str) else data)
    if size > max_bytes:
        raise FileFormatError(f"{source}: {size} bytes, over the {max_bytes}-byte limit for this file")
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileFormatError(f"{source}: not UTF-8 text") from None


def _yaml_where(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" at line {mark.line + 1}" if mark is not None else ""


def _check_yaml_events(text: str, source: str, max_depth: int) -> None:
    """Walk the parser's events (no value is built): refuse anchors, aliases and deep nesting at
    the first one seen, so a hostile file costs only the bytes read up to it."""
    from ruamel.yaml import YAML
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

    depth = 0
    for event in YAML(typ="safe", pure=True).parse(text):
        line = f" (line {event.start_mark.line + 1})" if event.start_mark is not None else ""
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor):
            raise FileFormatError(
                f"{source}: YAML anchors and aliases (&name, *name) are not accepted{line}; "
                "write the values out"
            )
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                raise FileFormatError(f"{source}: nested more than {max_depth} levels deep{line}")
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


def read_yaml(data: str | bytes, source: str, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """The value of a user's YAML file (YAML 1.2, safe types only), after the checks above."""
    from ruamel.yaml import YAML

    text = _text(data, source, max_bytes)
    try:
        _check_yaml_events(text, source, max_depth)
        return YAML(typ="safe", pure=True).load(text)
    except FileFormatError:
        raise
    except Exception as exc:  # ruamel raises several unrelated classes for malformed YAML
        raise FileFormatError(f"{source}: not valid YAML{_yaml_where(exc)}; fix the file") from None


# A JSON string literal (escapes included): its brackets are text, not nesting.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth(text: str) -> int:
    """How deep `text`'s arrays and objects nest (0 for a scalar); linear, no recursion."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = deepest = 0
    for ch in brackets:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number (JSON has no NaN or Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:40]} is not a finite number")
    return value


def read_json(
    data: str | bytes,
    source: str,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """The value of a user's JSON file after the checks above (size, depth, no NaN/Infinity)."""
    text = _text(data, source, max_bytes)
    depth = json_depth(text)
    if depth > max_depth:
        raise FileFormatError(f"{source}: nested more than {max_depth} levels deep")
    try:
        return json.loads(
            text, parse_constant=_no_constant, parse_float=_finite_float, object_pairs_hook=object_pairs_hook
        )
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise FileFormatError(f"{source}: not valid JSON ({first})") from None


def finite(values: Any, where: str) -> None:
    """Refuse NaN and ±inf in a number or an array of numbers read from a file (one line)."""
    import numpy as np

    arr = np.asarray(values, dtype=np.float64)
    if not np.isfinite(arr).all():
        bad = arr[~np.isfinite(arr)].flat[0]
        raise FileFormatError(f"{where}: {bad} is not a finite number")
