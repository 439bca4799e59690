"""A FIXTURE DeepFashion In-shop folder for the offline demo and tests, from the fixture site's people.

GFLA learns from pairs of the same person in two poses; the crawled fixture photos hold no such pairs
and DeepFashion can't be downloaded here. The fixture site's synthetic people all share one look
(the palette's red silhouette with coloured joints), so any two of them stand in for "the same model
in two poses". This writes them in DeepFashion's real layout (`img/<G>/<category>/id_XXXXXXXX/
NN_K_view.jpg`, people on a light background, 176x256) so the real loader, the pose stage (which
estimates their keypoints) and the dataset builder read them like the real folder. Demo/tests only.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from adgen.fixture_site import synth

VIEWS = ("1_front", "2_side", "3_back", "4_full")
FULL_BODY_NO_BAG = "full_body_no_bag"
WIDTH, HEIGHT = 176, 256


def _frame(image: Image.Image, box: list[float], margin: float = 0.08) -> Image.Image:
    """The person's box (normalised) plus a margin, framed 176:256 (white beyond the photo's edges)."""
    w, h = image.size
    x0, y0, x1, y1 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
    bh = (y1 - y0) * (1 + 2 * margin)
    bw = bh * WIDTH / HEIGHT
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = int(cx - bw / 2), int(cy - bh / 2)
    framed = Image.new("RGB", (int(bw), int(bh)), (255, 255, 255))
    framed.paste(image, (-left, -top))
    return framed.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)


def build_fixture_deepfashion(
    root: Path, items: int = 6, views: int = 3, seed: int = 7, test_items: int = 2
) -> int:
    """Write `items` × `views` single full-body people without bags (the last `test_items` items
    listed in test.lst, the others in train.lst); return how many images."""
    from adgen.datasets.deepfashion import gfla_name

    root = Path(root)
    written, index = 0, 0
    splits: dict[str, list[str]] = {"train": [], "test": []}
    for item in range(items):
        folder = root / "img" / "WOMEN" / "Fixture_People" / f"id_{item + 1:08d}"
        folder.mkdir(parents=True, exist_ok=True)
        for view in range(views):
            while synth.scenario_of(seed, index) != FULL_BODY_NO_BAG:
                index += 1
            rendered = synth.render(synth.photo_spec(seed, index))
            index += 1
            person = rendered.truth["people"][0]
            out = folder / f"01_{VIEWS[view % len(VIEWS)]}.jpg"
            _frame(rendered.image, person["box"]).save(out, "JPEG", quality=95, subsampling=0)
            split = "test" if item >= items - test_items else "train"
            splits[split].append(gfla_name("WOMEN", "Fixture_People", folder.name, out.name))
            written += 1
    for split, names in splits.items():  # GFLA's split lists: the last items are held out
        (root / f"{split}.lst").write_text("".join(n + "\n" for n in names))
    return written
