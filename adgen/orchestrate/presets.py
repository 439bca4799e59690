"""Params presets: a partial params.yaml merged over the project's params.yaml.

`presets/demo.yaml` makes every stage tiny enough for a CPU (the offline demo and the tests);
`presets/gpu.yaml` holds the product's real training settings. A preset is applied by writing
the merged file (`adgen preset apply NAME`), so `dvc repro`, `dvc exp run -S key=value` and every
`adgen` command see one ordinary params.yaml and DVC tracks the values that were really used.
Comments and key order of params.yaml survive the merge (ruamel round-trip, the YAML library DVC
itself uses).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import yaml

from adgen import atomic, config
from adgen.errors import UserError

PRESETS_DIR = "presets"


def preset_path(name: str, root: Path) -> Path:
    """`demo` → `<root>/presets/demo.yaml`; a path to a .yaml file is taken as is."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml"):
        return p if p.is_absolute() else root / p
    return root / PRESETS_DIR / f"{name}.yaml"


def available(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / PRESETS_DIR).glob("*.yaml"))


def read_preset(name: str, root: Path) -> dict[str, Any]:
    path = preset_path(name, root)
    if not path.is_file():
        names = ", ".join(available(root)) or "none"
        raise UserError(f"preset {name!r}: {path} not found (available presets: {names})")
    from ruamel.yaml import YAMLError

    try:
        data = config.read_yaml(path.read_text()) or {}
    except (yaml.YAMLError, YAMLError):
        raise UserError(f"{path}: not valid YAML; fix the file") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of params sections")
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` into `base` in place: mappings merge key by key, anything else replaces."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def _round_trip():
    from ruamel.yaml import YAML

    y = YAML()
    y.preserve_quotes = True
    y.width = 110
    y.indent(mapping=2, sequence=2, offset=0)
    y.representer.add_representer(
        type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return y


def apply_overrides(params_file: Path, overrides: dict[str, Any], source: str) -> config.Params:
    """Merge `overrides` into `params_file` (atomically) after checking the result validates.

    An unknown or invalid key fails with one line naming `source` and the key; the file is then
    left untouched.
    """
    params_file = Path(params_file)
    if not params_file.is_file():
        raise UserError(f"{params_file}: params file not found")
    y = _round_trip()
    doc = y.load(params_file.read_text()) or {}
    merged_plain = merge(config.read_yaml(params_file.read_text()) or {}, _plain(overrides))
    validated = config.from_dict(
        merged_plain, source=f"{source} applied to {params_file}", root=params_file.parent
    )
    merge(doc, _flow_lists(overrides))
    buf = io.StringIO()
    y.dump(doc, buf)
    atomic.write_text(params_file, buf.getvalue())
    return validated


def apply_preset(params_file: Path, name: str) -> config.Params:
    """Write `params_file` merged with preset `name` (found next to it under presets/)."""
    params_file = Path(params_file)
    root = params_file.resolve().parent
    overrides = read_preset(name, root)
    return apply_overrides(params_file, overrides, source=f"preset {name!r}")


def _flow_lists(obj: Any) -> Any:
    """Lists of scalars written in flow style (`[128, 64]`), as params.yaml writes them."""
    from ruamel.yaml.comments import CommentedSeq

    if isinstance(obj, dict):
        return {k: _flow_lists(v) for k, v in obj.items()}
    if isinstance(obj, list):
        seq = CommentedSeq([_flow_lists(v) for v in obj])
        if all(not isinstance(v, dict | list) for v in obj):
            seq.fa.set_flow_style()
        return seq
    return obj


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj
