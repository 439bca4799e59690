"""The network is the official one: part for part, parameter for parameter; the conditioning is wired
as the official forward pass wires it."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from adgen.models.pidm.config import PRESETS, PidmParams, preset
from adgen.models.pidm.model import CrossAttention, PidmUNet, parameter_groups


def demo() -> PidmParams:
    return preset("demo")


def test_deepfashion256_has_the_official_parameter_counts():
    with torch.device("meta"):  # 180 M parameters, no memory
        model = PidmUNet(preset("deepfashion256"))
    assert parameter_groups(model) == {
        "all": 180_355_718,
        "time_embed": 328_704,
        "input_blocks": 42_714_368,
        "middle_block": 13_121_536,
        "output_blocks": 85_895_296,
        "out": 7_174,
        "encoder": 38_288_640,
    }


def test_deepfashion256_has_cross_attention_at_32_16_8_and_in_the_middle():
    with torch.device("meta"):
        model = PidmUNet(preset("deepfashion256"))
    attn = [n for n, m in model.named_modules() if isinstance(m, CrossAttention)]
    # one per down level at 32/16/8 px (its last residual block), one per up level, the middle
    assert len(attn) == 7
    assert "middle.attn" in attn
    assert not any(n.startswith("encoder") for n in attn)  # the texture encoder has none


def test_single_gpu_is_smaller_and_demo_tiny():
    with torch.device("meta"):
        single = parameter_groups(PidmUNet(preset("single_gpu")))["all"]
        tiny = parameter_groups(PidmUNet(demo()))["all"]
    assert 30e6 < single < 60e6
    assert tiny < 3e6


def test_output_is_eps_and_variance_at_the_image_size():
    p = demo()
    model = PidmUNet(p)
    x = torch.randn(2, 3, p.height, p.width)
    pose = torch.randn(2, 20, p.height, p.width)
    out = model(x, torch.tensor([0, 999]), pose, model.encode(torch.randn(2, 3, p.height, p.width)))
    assert out.shape == (2, 6, p.height, p.width)


def test_encoder_features_match_the_down_path_one_to_one():
    p = demo()
    model = PidmUNet(p)
    feats = model.encode(torch.randn(1, 3, p.height, p.width))
    assert len(feats) == 1 + len(model.input_blocks)
    assert [f.shape[1:] for f in feats] == [(32, 32, 32), (32, 32, 32), (32, 16, 16), (64, 16, 16)]


def _perturbed(model: PidmUNet) -> PidmUNet:
    """Zero-initialised output layers make a fresh network ignore its conditions: give them weights."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return model.eval()


def test_output_depends_on_pose_source_and_time():
    p = demo()
    model = _perturbed(PidmUNet(p))
    g = torch.Generator().manual_seed(1)
    x, pose, src = (torch.randn(1, c, p.height, p.width, generator=g) for c in (3, 20, 3))
    t = torch.tensor([100])
    with torch.no_grad():
        base = model(x, t, pose, model.encode(src))
        assert not torch.allclose(base, model(x, t, torch.zeros_like(pose), model.encode(src)))
        assert not torch.allclose(base, model(x, t, pose, model.encode(torch.zeros_like(src))))
        assert not torch.allclose(base, model(x, torch.tensor([900]), pose, model.encode(src)))
        assert torch.equal(base, model(x, t, pose, model.encode(src)))


def test_the_official_unused_layers_get_no_gradient():
    p = demo()
    model = _perturbed(PidmUNet(p)).train()
    x, pose, src = torch.randn(2, 3, 32, 32), torch.randn(2, 20, 32, 32), torch.randn(2, 3, 32, 32)
    model(x, torch.tensor([5, 7]), pose, model.encode(src)).square().mean().backward()
    unused = {n for n, q in model.named_parameters() if q.grad is None}
    assert unused and all(
        any(k in n for k in ("self_qkv", "self_proj", "style_proj", "unused_time_embed"))
        or (n.startswith("encoder.") and ".emb_proj." in n)  # the encoder's blocks get no time
        for n in unused
    )
    assert all(q.grad is not None for n, q in model.named_parameters() if "to_kv" in n or "in_conv" in n)


@pytest.mark.parametrize(
    "change",
    [
        {"height": 33},  # not a multiple of 2 ** (levels - 1)
        {"model_channels": 48},  # 48 x 1 is no multiple of GroupNorm's 32 groups
        {"batch": 5},  # each pair is trained both ways
        {"beta_start": 0.03},  # above beta_end
    ],
)
def test_impossible_shapes_are_refused_in_the_params(change):
    with pytest.raises(ValidationError):
        PidmParams(**{**PRESETS["demo"], **change})
