"""The DPIG dataset (data/datasets/dpig) as build-datasets writes it and DPIG reads it back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adgen.datasets.dpig import TABLE, read_dpig
from adgen.errors import UserError
from tests.models.dpig.helpers import build_datasets_for, project_params, write_deepfashion


@pytest.fixture
def built(tmp_path: Path) -> Path:
    params = project_params(tmp_path, write_deepfashion(tmp_path / "df", people=2, poses=2))
    return build_datasets_for(params)


def test_deepfashion_people_are_copied_with_their_official_keypoints_and_a_card(built: Path) -> None:
    from adgen.deepfashion import DeepFashionInShop

    table = pd.read_parquet(built / TABLE)
    assert len(table) == 4 and set(table["source"]) == {"deepfashion"} and set(table["ext"]) == {"jpg"}
    assert sorted(p.name for p in (built / "images").iterdir()) == sorted(
        f"{i}.jpg" for i in table["image_id"]
    )
    shop = DeepFashionInShop(built.parents[2] / "df")
    by_bytes = {im.path.read_bytes(): shop.keypoints[im.gfla_name] for im in shop.images}
    for person in read_dpig(built, ["deepfashion"], 1):
        np.testing.assert_allclose(person.keypoints, by_bytes[person.path.read_bytes()], atol=1e-6)
    card = json.loads((built / "card.json").read_text())
    assert card["counts"] == {"deepfashion": 4, "people": 0}
    assert json.loads((built.parent / "cards" / "dpig.json").read_text()) == card
    assert read_dpig(built, ["people"], 1) == []  # sources pick rows


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [("ext", "../../x", "is not png or jpg"), ("image_id", "../" + "a" * 61, "not a sha256 hex digest")],
)
def test_a_tampered_table_is_one_line_and_no_path_outside_the_dataset(
    built: Path, column: str, value: str, message: str
) -> None:
    table = pd.read_parquet(built / TABLE)
    table.loc[0, column] = value
    table.to_parquet(built / TABLE)
    with pytest.raises(UserError, match=message) as err:
        read_dpig(built, ["deepfashion"], 1)
    assert "\n" not in str(err.value)
