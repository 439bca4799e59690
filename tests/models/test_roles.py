"""Roles in the declarations: what generate, compare and report run is found by role, never by name."""

from __future__ import annotations

import ast
import inspect
from dataclasses import replace
from pathlib import Path

import pytest

from adgen.models import registry, roles

ROOT = Path(__file__).resolve().parents[2]


def test_every_model_declares_a_role_with_its_loader_and_checkpoint_kind():
    for name, spec in registry.models().items():
        assert isinstance(spec.role, roles.Role), f"{name} declares no role"
        kind = spec.role.kind()
        assert kind.model == name, f"{name}'s role names the checkpoint kind of {kind.model}"


def test_the_approaches_and_compositors_are_the_products():
    """(A model added later adds its own; these stay.)"""
    found = {a: [s.name for s in approach.chain] for a, approach in registry.approaches().items()}
    assert found["1"] == ["stylegan2", "gfla"] and found["2"] == ["dpig"]
    assert {"sfgan", "stgan"} <= set(registry.with_role(roles.Compositor))
    assert {"dcgan", "stylegan2"} <= set(registry.with_role(roles.PeopleGenerator))


def test_what_users_read_is_derived_from_the_declarations_as_it_was_written_before():
    from adgen.compare.generators import LABELS, ORDER, TRAIN_COMMANDS
    from adgen.compare.run import GRID_HEADINGS
    from adgen.generate.chain import approach_names, check_approach, describe
    from adgen.report.sections import chains

    before = ("dcgan", "stylegan2", "approach1", "approach2")  # the comparison's rows as written before
    assert [name for name in ORDER if name in before] == list(before)
    assert {
        "dcgan": "DCGAN",
        "stylegan2": "StyleGAN2 alone",
        "approach1": "Approach 1: StyleGAN2 → GFLA",
        "approach2": "Approach 2: DPIG (pose-conditioned)",
    }.items() <= LABELS.items()
    assert TRAIN_COMMANDS["approach1"] == "adgen train stylegan2 && adgen train gfla"
    assert {
        "dcgan": "DCGAN",
        "stylegan2": "StyleGAN2",
        "approach1": "Approach 1",
        "approach2": "Approach 2",
    }.items() <= GRID_HEADINGS.items()
    assert {"1": "StyleGAN2 → GFLA → ST-GAN", "2": "DPIG → ST-GAN"}.items() <= approach_names("stgan").items()
    assert describe("1", "stgan") == (
        "StyleGAN2 draws a new person, GFLA moves them into the requested pose, ST-GAN places the bag."
    )
    assert {
        "1": "StyleGAN2 person → GFLA pose → ST-GAN bag",
        "2": "DPIG person in the pose → ST-GAN bag",
    }.items() <= chains("stgan").items()
    from adgen import config
    from adgen.report.quality import pose_gates

    assert ("a DPIG training person (train.dpig.min_keypoints)", 4) in pose_gates(config.from_dict({}))
    with pytest.raises(Exception, match=r"choose 1 \(StyleGAN2 → GFLA\), 2 \(DPIG\)(, .*)? or best"):
        check_approach("99")


def _members(protocol: type) -> dict[str, list[str]]:
    """The protocol's methods and properties with their parameter names (properties: [])."""
    out = {}
    for name, value in vars(protocol).items():
        if isinstance(value, property):
            out[name] = []
        elif callable(value) and not name.startswith("_"):
            out[name] = list(inspect.signature(value).parameters)[1:]
    return out


@pytest.mark.parametrize(
    "module, cls, protocol",
    [
        ("adgen.models.dcgan.api", "DcganSampler", roles.PeopleSampler),
        ("adgen.models.stylegan2.api", "StyleGAN2Sampler", roles.PeopleSampler),
        ("adgen.models.dpig.api", "DpigSampler", roles.PosedPeopleSampler),
        ("adgen.models.gfla.api", "PoseTransfer", roles.PoseTransferrer),
        ("adgen.models.stgan.api", "Compositor", roles.BagCompositor),
        ("adgen.models.sfgan.api", "Compositor", roles.BagCompositor),
    ],
)
def test_each_loaded_model_implements_its_roles_protocol(module, cls, protocol):
    import importlib

    loaded = getattr(importlib.import_module(module), cls)
    for name, params in _members(protocol).items():
        assert hasattr(loaded, name), f"{module}.{cls} lacks {name}"
        if params:
            got = list(inspect.signature(getattr(loaded, name)).parameters)[1:]
            assert got[: len(params)] == params, f"{module}.{cls}.{name}{got} is not the role's {params}"


def test_a_wrong_declaration_is_named_at_discovery():
    found = dict(registry.models())
    gfla = found["gfla"]
    found["gfla"] = replace(gfla, role=replace(gfla.role, people_from="dpig"))
    with pytest.raises(
        RuntimeError, match="gfla/spec.py: people_from 'dpig' is no declared people generator"
    ):
        registry._check_roles(found)
    found["gfla"] = replace(gfla, role=replace(gfla.role, approach="2"))
    with pytest.raises(RuntimeError, match="approach '2' must be unique"):
        registry._check_roles(found)


def test_generate_compare_report_and_config_never_branch_on_a_model_name():
    """No `if name == "stgan"`, no `{"dcgan": …}` table, no import of a model's package: a new
    generator reaches them through its declaration alone."""
    names = set(registry.models())
    found = []
    for package in ("generate", "compare", "report", "config"):
        for path in sorted((ROOT / "adgen" / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom | ast.Import):
                    modules = (
                        [node.module or ""]
                        if isinstance(node, ast.ImportFrom)
                        else [a.name for a in node.names]
                    )
                    found += [
                        f"{rel}:{node.lineno} imports {m}"
                        for m in modules
                        if m.split(".")[:2] == ["adgen", "models"]
                        and len(m.split(".")) > 2
                        and m.split(".")[2] in names
                    ]
                elif isinstance(node, ast.Compare):
                    consts = [c for c in (node.left, *node.comparators) if isinstance(c, ast.Constant)]
                    found += [
                        f"{rel}:{node.lineno} compares with {c.value!r}" for c in consts if c.value in names
                    ]
                elif isinstance(node, ast.Dict):
                    keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
                    found += [f"{rel}:{node.lineno} has a table keyed by {k!r}" for k in keys if k in names]
    assert not found, "\n".join(found)
