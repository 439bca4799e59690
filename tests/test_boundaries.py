"""Boundary promises, read from the code's own imports (ast): the offline stand-ins stay out of the
real stages, the core params know no model, no two adgen packages import each other round a loop, and
the models never reach up into generate, compare or report."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

ADGEN = REPO_ROOT / "adgen"

# Who may import adgen.fixtures, and why.
FIXTURE_IMPORTERS = {
    "adgen/cli.py": "registers the `adgen fixture-site …` / `adgen fixture-models …` commands, and hands "
    "`adgen strip --ground-truth` the site's mask renderer (CliState.fixture_masks)",
    "adgen/demo.py": "`make demo` runs on the fixture site and the FIXTURE models",
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


# -- packages: no import cycles, and the models stay below the rooms that use them ---------------------
# A package is a first-level name under adgen/ (adgen/generate/, adgen/cli.py). Edges count every import
# anywhere in a file (the walk above), so a lazy import inside a function is an edge too.

# The models are used by generate, compare and report; they never reach up into them.
ABOVE_THE_MODELS = ("adgen.generate", "adgen.compare", "adgen.report")


def package_of(module: str, root: Path = REPO_ROOT) -> str | None:
    """`adgen.generate.chain` -> "generate"; None outside adgen or for a name that is not there."""
    parts = module.split(".")
    if parts[0] != "adgen" or len(parts) < 2:
        return None
    name = parts[1]
    found = (root / "adgen" / name).is_dir() or (root / "adgen" / f"{name}.py").is_file()
    return name if found else None


def package_edges(root: Path = REPO_ROOT) -> dict[tuple[str, str], list[str]]:
    """(importer, imported) package pairs, each with the `file -> module` imports that make it."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted((root / "adgen").rglob("*.py")):
        source = package_of(module_name(path, root), root)
        for module in sorted(imported_modules(path, root)):
            target = package_of(module, root)
            if source and target and target != source:
                edges.setdefault((source, target), []).append(
                    f"{path.relative_to(root).as_posix()} -> {module}"
                )
    return edges


def import_cycles(edges: dict[tuple[str, str], list[str]]) -> list[list[str]]:
    """The packages that import each other round a loop: every strongly connected group of more
    than one (Tarjan), each sorted, the groups sorted."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        order[v] = low[v] = len(order)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in order:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], order[w])
        if low[v] == order[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in order:
            visit(v)
    return sorted(groups)


def cycle_edges(edges: dict[tuple[str, str], list[str]]) -> dict[tuple[str, str], list[str]]:
    """The edges that run inside a cycle: the imports to remove (or turn round) to break it."""
    inside = {name: n for n, group in enumerate(import_cycles(edges)) for name in group}
    return {(a, b): why for (a, b), why in edges.items() if a in inside and inside[a] == inside.get(b)}


def describe(edges: dict[tuple[str, str], list[str]]) -> str:
    return "\n".join(f"  {a} -> {b}: {', '.join(why)}" for (a, b), why in sorted(edges.items()))


def test_the_cycle_finder_sees_a_loop_through_a_lazy_import_and_nothing_else(tmp_path: Path) -> None:
    files = {
        "adgen/__init__.py": "",
        "adgen/errors.py": "",
        "adgen/pose/__init__.py": "from adgen import errors\n",
        "adgen/models/__init__.py": "",
        "adgen/models/spec.py": "from adgen.pose import draw\n\ndef f():\n    from ..generate.chain import load\n",
        "adgen/generate/__init__.py": "",
        "adgen/generate/chain.py": "from adgen.models import spec\nfrom adgen.pose import draw\n",
        "adgen/report/__init__.py": "import adgen.generate.chain\nimport numpy\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    edges = package_edges(tmp_path)
    assert import_cycles(edges) == [["generate", "models"]]
    assert sorted(cycle_edges(edges)) == [("generate", "models"), ("models", "generate")]
    assert cycle_edges(edges)[("models", "generate")] == [
        "adgen/models/spec.py -> adgen.generate.chain",
        "adgen/models/spec.py -> adgen.generate.chain.load",
    ]
    (tmp_path / "adgen/models/spec.py").write_text("from adgen.pose import draw\n")  # the loop broken
    assert import_cycles(package_edges(tmp_path)) == []


def test_no_import_cycle_between_adgen_packages() -> None:
    found = cycle_edges(package_edges())
    assert not found, "adgen packages import each other round a loop:\n" + describe(found)


def test_the_models_never_import_generate_compare_or_report() -> None:
    models = sorted((ADGEN / "models").rglob("*.py"))
    found = {f: m for prefix in ABOVE_THE_MODELS for f, m in importers_of(prefix, models).items()}
    assert not found, f"adgen/models reaches up into the code that uses it: {found}"


def test_the_report_is_at_the_top_and_nothing_imports_it() -> None:
    """It owns every section (adgen/report/compare.py, composites.py) and imports the data it shows;
    pages that generate and compare write render through adgen/pages, below it."""
    outside = [p for p in adgen_files() if not p.is_relative_to(ADGEN / "report")]
    found = importers_of("adgen.report", outside)
    assert not found, f"adgen.report imported from below: {found}"
