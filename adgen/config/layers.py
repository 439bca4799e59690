"""Which layer set each value: the class default, a model's preset, params.yaml, or the command line.

`adgen config show` prints the values each stage will actually use with their layer beside them,
so "what runs" and "what is shown" are the same thing (a preset's 4 steps show as 4, not as the
class default 100000).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

DEFAULT = "default"
PARAMS_FILE = "params.yaml"
CLI = "CLI"

# A tree of sections: name -> subtree, or name -> (value, layer) at a leaf.
Tree = dict[str, Any]


def layered(
    used: BaseModel,
    written: BaseModel | None = None,
    preset: tuple[str, Mapping[str, Any]] | None = None,
    cli: Mapping[str, str] | None = None,
) -> Tree:
    """`used`'s values, each with the layer that set it.

    `written` is the section as params.yaml gave it (default: `used`): its explicitly set keys are
    the params.yaml layer. `preset` = (name, values) fills what the file did not set; `cli` maps a
    key to how the command line set it (e.g. {"preset": "--preset"}).
    """
    written = used if written is None else written
    tree: Tree = {}
    for key in type(used).model_fields:
        value = getattr(used, key)
        below = getattr(written, key, None)
        if isinstance(value, BaseModel):
            tree[key] = layered(value, below if isinstance(below, BaseModel) else value)
            continue
        if isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
            tree[key] = {k: layered(v) for k, v in value.items()}
            continue
        if cli and key in cli:
            layer = f"{CLI} {cli[key]}"
        elif key in written.model_fields_set:
            layer = PARAMS_FILE
        elif preset is not None and key in preset[1]:
            layer = f"preset {preset[0]}"
        else:
            layer = DEFAULT
        tree[key] = (value, layer)
    return tree


def _scalar(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    dumped = json.loads(json.dumps(value, default=str))  # paths, tuples -> YAML-safe
    return json.dumps(dumped)  # JSON is YAML: one line, quoted where needed


def render(tree: Tree, indent: int = 0) -> list[str]:
    """YAML lines `key: value  # layer` (the output loads back with any YAML parser)."""
    lines = []
    pad = "  " * indent
    for key, node in tree.items():
        if isinstance(node, dict):
            lines.append(f"{pad}{key}:" + ("" if node else " {}"))
            lines += render(node, indent + 1)
        else:
            value, layer = node
            lines.append(f"{pad}{key}: {_scalar(value)}  # {layer}")
    return lines
