"""Boundary promises, read from the code's own imports (ast): the offline stand-ins stay out of the
real stages, and the core params know no model."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

ADGEN = REPO_ROOT / "adgen"

# Who may import adgen.fixtures, and why.
FIXTURE_IMPORTERS = {
    "adgen/cli.py": "registers the `adgen fixture-site …` / `adgen fixture-models …` commands",
    "adgen/demo.py": "`make demo` runs on the fixture site and the FIXTURE models",
    # `adgen strip --ground-truth` scores against the fixture site's exact masks, rendered again by
    # the site's renderer, which the CLI passes in (adgen/matting/evaluate.py takes it as an argument).
    "adgen/matting/cli.py": "strip --ground-truth: the fixture renderer passed to the scorer",
}


def module_name(path: Path, root: Path = REPO_ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = REPO_ROOT) -> set[str]:
    """Every module a file imports, anywhere in it (top level or inside functions), absolute names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names)  # `from adgen import fixtures`
    return found


def importers_of(prefix: str, files: list[Path], root: Path = REPO_ROOT) -> dict[str, list[str]]:
    out = {}
    for path in files:
        hits = sorted(m for m in imported_modules(path, root) if m == prefix or m.startswith(prefix + "."))
        if hits:
            out[path.relative_to(root).as_posix()] = hits
    return out


def adgen_files() -> list[Path]:
    return sorted(ADGEN.rglob("*.py"))


def test_the_import_walk_sees_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    probe = tmp_path / "adgen" / "detect" / "stage.py"  # a stage that leaks a stand-in in two ways
    probe.parent.mkdir(parents=True)
    probe.write_text(
        "def f():\n    from adgen.fixtures.site import synth\n\nfrom ..fixtures import detector\n"
    )
    assert importers_of("adgen.fixtures", [probe], root=tmp_path) == {
        "adgen/detect/stage.py": [
            "adgen.fixtures",
            "adgen.fixtures.detector",
            "adgen.fixtures.site",
            "adgen.fixtures.site.synth",
        ]
    }


def test_only_the_cli_and_demo_import_the_fixtures() -> None:
    outside = [p for p in adgen_files() if not p.is_relative_to(ADGEN / "fixtures")]
    found = importers_of("adgen.fixtures", outside)
    unexpected = {f: mods for f, mods in found.items() if f not in FIXTURE_IMPORTERS}
    assert not unexpected, f"real code imports the offline stand-ins: {unexpected}"


def test_the_core_params_import_no_model() -> None:
    found = importers_of("adgen.models", sorted((ADGEN / "config").rglob("*.py")))
    assert not found, f"adgen/config imports models: {found}"


@pytest.mark.parametrize("real", ["adgen/pose/openpose.py", "adgen/pose/contract.py"])
def test_keypoint_conventions_come_from_the_real_pose_module(real: str) -> None:
    mods = imported_modules(REPO_ROOT / real)
    assert "adgen.pose.keypoints" in mods and not any(m.startswith("adgen.fixtures") for m in mods)


def test_the_fixture_site_takes_the_keypoint_order_from_the_real_module() -> None:
    from adgen.fixtures.site import palette
    from adgen.pose import keypoints

    assert palette.COCO_KEYPOINTS is keypoints.COCO_KEYPOINTS
