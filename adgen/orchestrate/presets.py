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
    data = config.read_yaml(path.read_bytes(), str(path)) or {}  # the user-file limits: one line
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

    Whatever DVC (`dvc exp run -S` rewrites the file with block lists and moved comments) or a person
    did to the file, what gets written is checked before it replaces the original: the new text is
    parsed again and must hold exactly the merged values, and those must validate. Otherwise (or on
    an unknown or invalid key, named with `source`) the command fails with one line and the file is
    left untouched.
    """
    params_file = Path(params_file)
    if not params_file.is_file():
        raise UserError(f"{params_file}: params file not found")
    text = params_file.read_text()
    try:
        current = config.read_yaml(text, str(params_file)) or {}
        _round_trip().load(text)
    except UserError:
        raise
    except Exception as exc:  # ruamel raises several unrelated classes for malformed YAML
        raise UserError(f"{params_file}: {_yaml_problem(exc)}; fix the file first") from None
    if not isinstance(current, dict):
        raise UserError(f"{params_file}: expected a mapping of params sections at the top level")
    wanted = merge(_plain(current), _plain(overrides))
    validated = config.from_dict(wanted, source=f"{source} applied to {params_file}", root=params_file.parent)
    new_text = _edited_text(text, overrides, wanted)
    if new_text is None:
        raise UserError(
            f"{source}: could not write {params_file} so that it reads back as the merged params "
            "(unusual YAML layout); the file is unchanged: edit it by hand or reformat it"
        )
    if new_text != text:
        atomic.write_text(params_file, new_text)
    return validated


def _edited_text(text: str, overrides: dict[str, Any], wanted: dict[str, Any]) -> str | None:
    """The round-trip edit of `text` with `overrides` set, or None when it would not read back as `wanted`.

    First with every comment kept; if ruamel cannot place a comment next to a replaced value (a
    layout DVC's rewrite leaves), again without the comments of the replaced keys.
    """
    for keep_comments in (True, False):
        y = _round_trip()
        edited = y.load(text) or {}
        _set_changed(edited, _flow_lists(overrides), keep_comments)
        _tidy_comments(edited)
        out = _dump(y, edited)
        try:
            if config.read_yaml(out) == wanted:
                return out
        except Exception:  # noqa: BLE001 - any parse error means this attempt produced bad YAML
            pass
    return None


def _dump(y, doc: Any) -> str:
    buf = io.StringIO()
    y.dump(doc, buf)
    return buf.getvalue()


def _set_changed(doc: Any, overrides: dict[str, Any], keep_comments: bool) -> None:
    """Set each override in the round-trip `doc`; values already equal are left as written."""
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            _set_changed(doc[key], value, keep_comments)
            continue
        if key in doc and _plain(doc[key]) == _plain(value):
            continue
        if not keep_comments and hasattr(doc, "ca"):
            doc.ca.items.pop(key, None)
        doc[key] = value


def _tidy_comments(node: Any) -> None:
    """Empty comment slots (`[]`, as left by a DVC rewrite of a block list) make ruamel drop the
    line break after the next value (`augment: ada fid_kimg: 0`); store them as absent instead."""
    ca = getattr(node, "ca", None)
    if ca is not None:
        for slots in ca.items.values():
            if isinstance(slots, list):
                for i, slot in enumerate(slots):
                    if isinstance(slot, list) and not slot:
                        slots[i] = None
        if isinstance(ca.comment, list):
            ca.comment = [None if isinstance(c, list) and not c else c for c in ca.comment]
    if isinstance(node, dict):
        for value in node.values():
            _tidy_comments(value)
    elif isinstance(node, list):
        for value in node:
            _tidy_comments(value)


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    at = f" at line {mark.line + 1}" if mark is not None else ""
    return f"not valid YAML{at}"


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
