"""DPIG's networks are the official graphs: the same parameter counts, the same ROI crops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from adgen.models.dpig import model as M
from adgen.models.dpig.config import DpigParams
from adgen.models.dpig.rois import PARTS, crop_and_resize, foreground_mask, part_boxes
from adgen.models.dpig.train import build
from adgen.models.registry import with_preset
from tests.models.gfla.helpers import pose

# Parameter counts of the official TensorFlow graphs (trainer_256.py / trainer.py, built from their code)
DEEPFASHION_COUNTS = {
    "encoder": 58_140_832,
    "decoder": 82_088_387,
    "image_d": 4_324_737,
    "pose_encoder": 2_145_824,
    "pose_decoder": 2_145_846,
    "app_mapper": 2_331_360,
    "app_critic": 903_681,
    "pose_mapper": 2_134_560,
    "pose_critic": 805_377,
}


def _counts(preset: str) -> dict[str, int]:
    # build on the meta device: the counts of 160M parameters without allocating them
    with torch.device("meta"):
        nets = build(with_preset(DpigParams(), preset))
    return {k: M.count_parameters(v) for k, v in nets.items()}


def test_deepfashion_graphs_have_the_official_parameter_counts():
    got = _counts("deepfashion256")
    assert got == DEEPFASHION_COUNTS


def test_market_encoder_and_decoder_have_the_official_counts_with_a_352_d_embedding():
    got = _counts("market128")
    assert got["encoder"] == 47_352_736 and got["decoder"] == 71_197_123
    assert with_preset(DpigParams(), "market128").appearance_dim == 352
    assert {"bg_mapper", "bg_critic"} <= set(got)


def _naive_crop_and_resize(feat: np.ndarray, box: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """tf.image.crop_and_resize for one box of one (C, H, W) map, written out pixel by pixel."""
    c, h, w = feat.shape
    y1, x1, y2, x2 = box
    out = np.zeros((c, oh, ow), np.float64)
    for i in range(oh):
        y = y1 * (h - 1) + i * (y2 - y1) * (h - 1) / (oh - 1)
        for j in range(ow):
            x = x1 * (w - 1) + j * (x2 - x1) * (w - 1) / (ow - 1)
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            yb, xb = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            dy, dx = y - y0, x - x0
            top = feat[:, y0, x0] * (1 - dx) + feat[:, y0, xb] * dx
            bottom = feat[:, yb, x0] * (1 - dx) + feat[:, yb, xb] * dx
            out[:, i, j] = top * (1 - dy) + bottom * dy
    return out


def test_crop_and_resize_of_all_boxes_at_once_equals_a_naive_per_box_loop():
    rng = np.random.default_rng(0)
    feat = rng.normal(size=(2, 3, 20, 12)).astype(np.float64)
    boxes = np.stack([part_boxes(pose(v), 20, 12)[0] for v in (1, 5)]).astype(np.float64)  # real part boxes
    boxes[1, 3] = (0.0, 0.0, 1.0, 1.0)  # the whole image, as for an invisible part
    got = crop_and_resize(torch.from_numpy(feat), torch.from_numpy(boxes), 6, 5).numpy()
    assert got.shape == (2 * 7, 3, 6, 5)
    for b in range(2):
        for p in range(7):
            want = _naive_crop_and_resize(feat[b], boxes[b, p], 6, 5)
            np.testing.assert_allclose(got[b * 7 + p], want, atol=1e-10)


def test_parts_without_keypoints_get_visibility_zero_and_never_crash():
    kp = pose(1)
    kp[[5, 6, 7]] = (-1, -1, 0)  # no left arm
    boxes, vis = part_boxes(kp, 256, 256)
    names = [n for n, _ in PARTS]
    assert vis[names.index("left arm")] == 0 and vis[names.index("right arm")] == 1
    assert boxes[names.index("left arm")].tolist() == [0, 0, 1, 1]
    nobody = np.tile(np.array([-1.0, -1.0, 0.0], np.float32), (18, 1))
    boxes, vis = part_boxes(nobody, 64, 32)
    assert vis.sum() == 0 and np.isfinite(boxes).all()
    assert foreground_mask(boxes, vis, 64, 32).sum() == 0


def test_part_boxes_hold_their_keypoints_with_a_margin_inside_the_image():
    kp = pose(2)
    boxes, vis = part_boxes(kp, 256, 256)
    for (name, idx), (y1, x1, y2, x2), v in zip(PARTS, boxes, vis, strict=True):
        pts = [j for j in idx if kp[j, 2] > 0 and j != 0]  # the nose's box is raised on purpose
        assert v == 1, name
        assert 0 <= y1 < y2 <= 1 and 0 <= x1 < x2 <= 1
        for j in pts:
            assert y1 < kp[j, 1] < y2 and x1 < kp[j, 0] < x2, (name, j)


def test_the_tiled_embedding_conv_equals_tiling_then_convolving():
    torch.manual_seed(0)
    conv = M.TiledEmbeddingConv(5, 3, 4)
    emb, maps = torch.randn(2, 5), torch.randn(2, 3, 7, 6)
    torch.testing.assert_close(conv(emb, maps), conv.reference(emb, maps), atol=1e-5, rtol=1e-5)


def test_appearance_is_zero_for_an_invisible_part_and_the_decoder_paints_an_image():
    p = with_preset(DpigParams(), "demo")
    nets = build(p)
    kp = pose(1)
    boxes, vis = part_boxes(kp, p.height, p.width)
    vis[2] = 0
    image = torch.rand(1, 3, p.height, p.width) * 2 - 1
    emb = nets["encoder"](image, torch.from_numpy(boxes)[None], torch.from_numpy(vis)[None])
    assert emb.shape == (1, 7 * p.part_dim)
    assert (emb[0, 2 * p.part_dim : 3 * p.part_dim] == 0).all()
    maps = torch.zeros(1, 18, p.height, p.width) - 1
    assert nets["decoder"](emb, maps).shape == (1, 3, p.height, p.width)


@pytest.mark.parametrize("size", [(256, 256), (128, 64)])
def test_the_image_discriminator_gives_the_official_number_of_logits(size):
    with torch.device("meta"):
        d = M.ImageDiscriminator(*size)
    assert d.logits_per_image == (8 if size == (256, 256) else 1)


def test_visibility_rounds_forward_and_passes_gradients_straight_through():
    p = torch.tensor([0.2, 0.7], requires_grad=True)
    out = M.straight_through_round(p)
    assert out.tolist() == [0.0, 1.0]
    out.sum().backward()
    assert p.grad.tolist() == [1.0, 1.0]


def test_weight_clipping_keeps_every_critic_weight_in_bounds():
    critic = M.EmbeddingCritic(6, 8, 1)
    with torch.no_grad():
        for q in critic.parameters():
            q.mul_(100)
    critic.clip_(0.01)
    assert all(q.abs().max() <= 0.01 for q in critic.parameters())
