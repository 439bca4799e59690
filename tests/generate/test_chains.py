"""Every people generator × every pose transfer is a chain of `adgen generate`, `adgen evaluate
compare` and `best`, derived from the roles: the declared approaches keep their ids ("1", "2", "3"),
the other pairs get `<people>-<transfer>` (compare.json key `<people>_<transfer>`)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from adgen import config
from adgen.errors import UserError
from adgen.generate.best import best_approach
from adgen.generate.chain import resolve_approach
from adgen.models import registry
from adgen.models.roles import PeopleGenerator, PoseTransfer
from tests.generate.test_generate import _adgen_in_process
from tests.models.gfla.helpers import pose


def test_the_declared_approaches_come_first_then_every_other_people_transfer_pair():
    found = registry.chains()
    declared = registry.approaches()
    assert list(found)[: len(declared)] == list(declared)  # "1", "2", "3" as before
    assert all(found[a] == declared[a] for a in declared)
    pairs = {tuple(s.name for s in a.chain): a for a in found.values() if not a.pose_controlled}
    people, transfers = registry.with_role(PeopleGenerator), registry.with_role(PoseTransfer)
    assert set(pairs) == {(p, t) for p in people for t in transfers}  # each pair once
    combined = {a.id: a for a in found.values() if not a.declared}
    assert {"dcgan-gfla", "dcgan-pidm"} <= set(combined) and "stylegan2-gfla" not in combined
    assert combined["dcgan-pidm"].label == "DCGAN → PIDM" and combined["dcgan-pidm"].key == "dcgan_pidm"
    assert found["1"].key == "approach1" and found["2"].key == "approach2"


def _with(monkeypatch, *specs: registry.ModelSpec) -> None:
    found = {**registry.models(), **{spec.name: spec for spec in specs}}
    registry._check_roles(found)
    monkeypatch.setattr(registry, "_MODELS", dict(sorted(found.items())))


def test_a_new_people_generator_or_pose_transfer_declaration_adds_its_pairs(monkeypatch):
    from adgen.compare.generators import entries

    models = registry.models()
    people = replace(models["dcgan"], name="fakegen", title="FakeGen")
    transfer = replace(
        models["gfla"], name="faketx", title="FakeTx", role=replace(models["gfla"].role, approach="7")
    )
    _with(monkeypatch, people, transfer)
    found = registry.chains()
    assert [s.name for s in found["7"].chain] == ["stylegan2", "faketx"]  # its declared approach
    assert {"fakegen-gfla", "fakegen-pidm", "fakegen-faketx", "dcgan-faketx"} <= set(found)
    assert "stylegan2-faketx" not in found  # approach 7 is that pair
    rows = {e.name: e for e in entries()}
    assert rows["fakegen_faketx"].label == "Approach fakegen-faketx: FakeGen → FakeTx"
    assert rows["fakegen_faketx"].command == "adgen train fakegen && adgen train faketx"
    assert rows["approach7"].label == "Approach 7: StyleGAN2 → FakeTx"
    assert resolve_approach(None, "fakegen", "faketx", "1") == "fakegen-faketx"
    assert resolve_approach(None, None, "faketx", "1") == "7"  # its own approach's people


def test_a_name_or_approach_id_that_cannot_form_a_folder_name_is_refused_at_discovery():
    models = registry.models()
    bad = {**models, "fake_gen": replace(models["dcgan"], name="fake_gen")}
    with pytest.raises(RuntimeError, match=r"fake_gen/spec.py: a people generator .* must be \[a-z0-9\]\+"):
        registry._check_roles(bad)
    bad = {**models, "gfla": replace(models["gfla"], role=replace(models["gfla"].role, approach="../x"))}
    with pytest.raises(
        RuntimeError, match=r"gfla/spec.py: approach '../x' must be unique, set, \[a-z0-9\]\+"
    ):
        registry._check_roles(bad)


@pytest.mark.parametrize(
    "approach, people, transfer, default, want",
    [
        (None, None, None, "2", "2"),
        (None, "stylegan2", "pidm", "1", "3"),  # a declared pair is its approach
        (None, "dcgan", "pidm", "1", "dcgan-pidm"),
        (None, None, "pidm", "2", "3"),  # alone: the people PIDM's own approach re-poses
        (None, "dcgan", None, "1", "dcgan-gfla"),  # alone: generate.approach's transfer
        (None, "dcgan", None, "3", "dcgan-pidm"),
        (None, "dcgan", None, "best", "dcgan-gfla"),  # no single transfer: the first declared one's
        ("3", "dcgan", None, "1", "dcgan-pidm"),  # an explicit --approach fills the other
        ("dcgan-gfla", None, "pidm", "1", "dcgan-pidm"),
        ("dcgan-pidm", None, None, "1", "dcgan-pidm"),
    ],
)
def test_people_and_pose_transfer_resolve_to_one_chain(approach, people, transfer, default, want):
    assert resolve_approach(approach, people, transfer, default) == want


@pytest.mark.parametrize(
    "approach, people, transfer, message",
    [
        (None, "nobody", None, "--people 'nobody': choose dcgan (DCGAN), stylegan2 (StyleGAN2)"),
        (None, None, "dpig", "--pose-transfer 'dpig': choose gfla (GFLA), pidm (PIDM)"),
        ("2", None, "gfla", "--approach 2 is DPIG alone (pose-controlled), but --pose-transfer picks a people"),
        ("best", "dcgan", "gfla", "--approach best runs every chain, but --people and --pose-transfer pick a"),
        ("zz", "dcgan", None, "--approach 'zz': choose 1 (StyleGAN2 → GFLA), 2 (DPIG), 3 (StyleGAN2 → PIDM), "
         "dcgan-gfla (DCGAN → GFLA), dcgan-pidm (DCGAN → PIDM) or best"),
    ],
)  # fmt: skip
def test_unknown_or_contradicting_choices_are_one_line(approach, people, transfer, message):
    with pytest.raises(UserError) as err:
        resolve_approach(approach, people, transfer, "1")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_generate_approach_in_params_takes_every_chain_id_and_says_which_there_are():
    assert config.from_dict({"generate": {"approach": "dcgan-pidm"}}).generate.approach == "dcgan-pidm"
    with pytest.raises(
        Exception, match=r"generate.approach: must be 1, 2, 3, dcgan-gfla, dcgan-pidm or best"
    ):
        config.from_dict({"generate": {"approach": "dcgan-dpig"}})


def test_the_cli_refuses_unknown_names_in_one_line_before_loading_anything(tmp_path: Path, capsys):
    (tmp_path / "params.yaml").write_text(json.dumps({"paths": {"models": "models"}}))
    bag = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    bag.paste((150, 60, 20, 255), (2, 2, 6, 6))
    bag.save(tmp_path / "bag.png")
    (tmp_path / "pose.json").write_text(json.dumps(pose(1).tolist()))
    base = ("generate", "--pose", "pose.json", "--bag", "bag.png", "-o", "x")
    for args, message in [
        (("--people", "dpig"), "--people 'dpig': choose dcgan (DCGAN), stylegan2 (StyleGAN2)"),
        (("--pose-transfer", "stgan"), "--pose-transfer 'stgan': choose gfla (GFLA), pidm (PIDM)"),
        (("--approach", "2", "--pose-transfer", "pidm"), "--approach 2 is DPIG alone (pose-controlled)"),
        (("--people", "dcgan", "--pose-transfer", "pidm"), "no trained dcgan under"),  # it is that chain
    ]:
        assert _adgen_in_process(tmp_path, *base, *args) == 2, args
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and err.strip().count("\n") == 0, err
    assert not (tmp_path / "x").exists()


def test_best_reads_a_combined_chain_under_its_compare_key_and_never_a_skipped_one():
    table = {"generators": {"approach1": {"pose_mse": 0.02}, "dcgan_gfla": {"pose_mse": 0.01}}}
    assert best_approach(table) == "dcgan-gfla"
    assert best_approach(table, among=["1", "dcgan-pidm"]) == "1"
    table["generators"]["approach3"] = {"pose_mse": 0.01}
    assert best_approach(table) == "3"  # a tie: the declared approach, earlier in chains()


def test_compare_has_a_row_per_chain_under_its_key_with_the_commands_that_train_it():
    from adgen.compare.generators import LABELS, ORDER, TRAIN_COMMANDS

    # the rows as before, then the combined chains
    assert ORDER == ("dcgan", "stylegan2", "approach1", "approach2", "approach3", "dcgan_gfla", "dcgan_pidm")
    assert LABELS["dcgan_pidm"] == "Approach dcgan-pidm: DCGAN → PIDM" and LABELS["dcgan"] == "DCGAN"
    assert TRAIN_COMMANDS["dcgan_gfla"] == "adgen train dcgan && adgen train gfla"


def test_the_reports_comparison_names_a_combined_chain_best_chooses(tmp_path: Path):
    """It looked the label up as `approach<id>`: a combined chain scoring best was a KeyError."""
    from adgen.report.compare import section_html

    numbers = {"poses": 4, "generators": {"approach1": {"pose_mse": 0.02}, "dcgan_gfla": {"pose_mse": 0.01}}}
    info = {"generators": {name: {"status": "scored"} for name in numbers["generators"]}}
    (tmp_path / "compare.json").write_text(json.dumps(numbers))
    (tmp_path / "compare.info.json").write_text(json.dumps(info))
    fragment = section_html(tmp_path, tmp_path / "report", tmp_path / "report" / "assets")
    assert "uses approach dcgan-gfla (Approach dcgan-gfla: DCGAN → GFLA)" in fragment
    assert fragment.index("Approach 1: StyleGAN2 → GFLA") < fragment.index(
        "Approach dcgan-gfla: DCGAN → GFLA"
    )
