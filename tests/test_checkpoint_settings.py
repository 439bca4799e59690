"""Checkpoints named per model in one mapping; the keys users already type keep working."""

from __future__ import annotations

from pathlib import Path

import pytest

from adgen import config
from adgen.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def test_the_old_keys_are_read_into_the_mapping_beside_new_ones():
    p = config.from_dict(
        {
            "generate": {"stgan_checkpoint": "a", "gfla_checkpoint": None, "checkpoints": {"dpig": "b"}},
            "compare": {"dcgan_checkpoint": "c"},
        }
    )
    assert p.generate.checkpoints == {"stgan": Path("a"), "dpig": Path("b")}
    assert p.compare.checkpoints == {"dcgan": Path("c")}


def test_the_repositorys_params_and_presets_still_load_with_their_old_keys():
    demo = config.read_yaml((ROOT / "presets" / "demo.yaml").read_bytes())
    p = config.from_dict({"generate": demo["generate"]})
    assert p.generate.checkpoints["stylegan2"] == Path("data/models/stylegan2/dvc")
    assert config.load(ROOT / "params.yaml").generate.compositor in ("stgan", "sfgan")


@pytest.mark.parametrize(
    "section, message",
    [
        (
            {"generate": {"checkpoints": {"glue": "x"}}},
            "generate.checkpoints: unknown model 'glue'; choose from dcgan",
        ),
        ({"compare": {"checkpoints": {"glue": "x"}}}, "compare.checkpoints: unknown model 'glue'"),
        ({"generate": {"glue_checkpoint": "x"}}, "generate.glue_checkpoint: unknown key"),
        (
            {"generate": {"stgan_checkpoint": "a", "checkpoints": {"stgan": "b"}}},
            "generate.stgan_checkpoint and generate.checkpoints.stgan are both set; keep one",
        ),
        ({"generate": {"approach": 99}}, "generate.approach: must be 1, 2"),
        ({"generate": {"approach": 99}}, "or best (got '99')"),
        (
            {"generate": {"compositor": "glue"}},
            "generate.compositor: must be one of sfgan, stgan",
        ),
    ],
)
def test_names_are_checked_against_the_declared_models_in_one_line(section, message):
    with pytest.raises(UserError) as exc:
        config.from_dict(section)
    assert message in str(exc.value) and "\n" not in str(exc.value)
