"""The DeepFashion In-shop loader reads the real folder layout and GFLA's 256x176 CSVs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adgen.deepfashion import DeepFashionInShop, gfla_name
from adgen.errors import UserError
from tests.datasets.deepfashion_folder import build_deepfashion


def test_gfla_name_flattens_the_path_like_the_official_script() -> None:
    assert gfla_name("WOMEN", "Blouses_Shirts", "id_00000001", "02_1_front.jpg") == (
        "fashionWOMENBlouses_Shirtsid0000000102_1front.jpg"
    )
    assert (
        gfla_name("MEN", "Denim", "id_00012345", "07_4_full.jpg") == "fashionMENDenimid0001234507_4full.jpg"
    )


def test_loader_lists_images_by_item_with_keypoints_splits_and_pairs(tmp_path: Path) -> None:
    truth = build_deepfashion(tmp_path)
    (tmp_path / "img" / "WOMEN" / "Dresses" / "id_00000003" / "notes.txt").write_text("not an image")
    df = DeepFashionInShop(tmp_path)
    assert len(df.images) == 9
    groups = df.by_item()
    assert sorted(groups) == ["id_00000001", "id_00000002", "id_00000003"]
    first = groups["id_00000001"][0]
    assert (first.gender, first.category, first.outfit, first.view) == (
        "WOMEN",
        "Blouses_Shirts",
        1,
        "1_front",
    )
    assert set(df.keypoints) == set(truth)
    for name, kp in df.keypoints.items():
        # The CSV holds integer pixels of the 256x176 frame: within one pixel of the truth.
        assert np.abs((kp[:, :2] - truth[name][:, :2]) * [176, 256]).max() <= 1.0
    assert {df.splits[n] for n in truth if "id00000003" in n} == {"test"}
    assert len(df.official_pairs("train")) == 12 and len(df.official_pairs("test")) == 6


def test_folder_without_img_is_one_line_naming_the_layout(tmp_path: Path) -> None:
    with pytest.raises(
        UserError, match=r"datasets\.deepfashion: .* has no img/ folder; expected the In-shop layout"
    ):
        DeepFashionInShop(tmp_path)
