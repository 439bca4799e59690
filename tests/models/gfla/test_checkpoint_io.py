"""Official GFLA checkpoints (plain state dicts, official key names) load onto our modules by path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from adgen.errors import UserError
from adgen.models.gfla.api import load_pose_transfer
from adgen.models.gfla.checkpoint_io import load_official_discriminator, load_official_generator
from adgen.models.gfla.config import GflaParams
from adgen.models.gfla.model import PoseGenerator, ResDiscriminator
from adgen.models.registry import with_preset

from .helpers import draw_person, pose

# --- the official key layout, written from the published module structure (not from our modules) ---


def _encoder(prefix, cin, cout):
    return {
        f"{prefix}.model.0.weight": (cin,),
        f"{prefix}.model.0.bias": (cin,),
        f"{prefix}.model.2.weight": (cout, cin, 4, 4),
        f"{prefix}.model.2.bias": (cout,),
        f"{prefix}.model.3.weight": (cout,),
        f"{prefix}.model.3.bias": (cout,),
        f"{prefix}.model.5.weight": (cout, cout, 3, 3),
        f"{prefix}.model.5.bias": (cout,),
    }


def _res_decoder(prefix, cin, cout, hidden):
    return {
        f"{prefix}.model.0.weight": (cin,),
        f"{prefix}.model.0.bias": (cin,),
        f"{prefix}.model.2.weight": (hidden, cin, 3, 3),
        f"{prefix}.model.2.bias": (hidden,),
        f"{prefix}.model.3.weight": (hidden,),
        f"{prefix}.model.3.bias": (hidden,),
        f"{prefix}.model.5.weight": (hidden, cout, 3, 3),
        f"{prefix}.model.5.bias": (cout,),  # ConvTranspose
        f"{prefix}.shortcut.0.weight": (cin, cout, 3, 3),
        f"{prefix}.shortcut.0.bias": (cout,),
    }


def _resblock(prefix, c):
    return {
        f"{prefix}.model.0.weight": (c,),
        f"{prefix}.model.0.bias": (c,),
        f"{prefix}.model.2.weight": (c, c, 3, 3),
        f"{prefix}.model.2.bias": (c,),
        f"{prefix}.model.3.weight": (c,),
        f"{prefix}.model.3.bias": (c,),
        f"{prefix}.model.5.weight": (c, c, 3, 3),
        f"{prefix}.model.5.bias": (c,),
    }


def official_generator_shapes():
    """DeepFashion PoseGenerator: ngf 64, img_f 512, layers 3, attn 2,3 with k 5,3; flow ngf 32, img_f 256."""
    s = {}
    s |= (
        _encoder("source.block0", 3, 64)
        | _encoder("source.encoder0", 64, 128)
        | _encoder("source.encoder1", 128, 256)
    )
    s |= (
        _encoder("target.block0", 18, 64)
        | _encoder("target.encoder0", 64, 128)
        | _encoder("target.encoder1", 128, 256)
    )
    for i, (cin, cout, k) in enumerate([(256, 128, 3), (128, 64, 5), (64, 64, None)]):
        s |= _resblock(f"target.decoder{i}.0.model.0", cin) | _res_decoder(
            f"target.decoder{i}.1", cin, cout, cin
        )
        if k:
            s |= {
                f"target.attn{i}.fully_connect_layer.0.weight": (128, 2 * cin, k, k),
                f"target.attn{i}.fully_connect_layer.0.bias": (128,),
                f"target.attn{i}.fully_connect_layer.2.weight": (k * k, 128, 1, 1),
                f"target.attn{i}.fully_connect_layer.2.bias": (k * k,),
            }
    for alias in ("conv1", "model.2"):
        s |= {f"target.outconv.{alias}.weight": (3, 64, 3, 3), f"target.outconv.{alias}.bias": (3,)}
    widths = [32, 64, 128, 256, 256]
    s |= _encoder("flow_net.block0", 39, 32)
    for i in range(4):
        s |= _encoder(f"flow_net.encoder{i}", widths[i], widths[i + 1])
    for i, (cin, cout) in enumerate([(256, 256), (256, 128), (128, 64)]):
        s |= _res_decoder(f"flow_net.decoder{i}", cin, cout, cout)
        for alias in ("conv1", "model.2"):
            s |= {
                f"flow_net.jump{i}.{alias}.weight": (cout, cout, 3, 3),
                f"flow_net.jump{i}.{alias}.bias": (cout,),
            }
        if i:
            s |= {f"flow_net.output{i}.weight": (2, cout, 3, 3), f"flow_net.output{i}.bias": (2,)}
            s |= {f"flow_net.mask{i}.0.weight": (1, cout, 3, 3), f"flow_net.mask{i}.0.bias": (1,)}
    return s


def official_generator_state(seed=0):
    g = torch.Generator().manual_seed(seed)
    state = {k: torch.randn(shape, generator=g) * 0.02 for k, shape in official_generator_shapes().items()}
    for owner in ["target.outconv"] + [f"flow_net.jump{i}" for i in range(3)]:
        for leaf in ("weight", "bias"):  # one conv, two names: the same tensor
            state[f"{owner}.model.2.{leaf}"] = state[f"{owner}.conv1.{leaf}"]
    return state


def official_discriminator_state(seed=1):
    g = torch.Generator().manual_seed(seed)
    state = {}

    def sn(prefix, cout, cin, k):
        state.update(
            {
                f"{prefix}.weight_orig": torch.randn(cout, cin, k, k, generator=g),
                f"{prefix}.weight_u": torch.randn(cout, generator=g),
                f"{prefix}.weight_v": torch.randn(cin * k * k, generator=g),
                f"{prefix}.bias": torch.randn(cout, generator=g),
            }
        )

    for name, cin, cout, hidden in [
        ("block0", 3, 32, 32),
        ("encoder0", 32, 64, 32),
        ("encoder1", 64, 128, 64),
        ("encoder2", 128, 128, 128),
    ]:
        sn(f"{name}.model.1", hidden, cin, 3)
        sn(f"{name}.model.3", cout, hidden, 4)
        sn(f"{name}.shortcut.1", cout, cin, 1)
    sn("conv", 1, 128, 1)
    return state


def test_the_official_layout_written_here_has_the_published_size():
    state = official_generator_state()
    assert len(state) == 204 and sum(v.numel() for v in state.values()) == 14_823_718
    d = official_discriminator_state()
    assert len(d) == 52 and sum(v.numel() for v in d.values()) == 672_032


def test_official_generator_file_loads_onto_our_generator(tmp_path):
    state = official_generator_state()
    torch.save(state, tmp_path / "latest_net_G.pth")
    g = PoseGenerator(with_preset(GflaParams(), "deepfashion256"))
    report = load_official_generator(g, tmp_path / "latest_net_G.pth")
    assert report.kind == "official-G" and report.keys == 204
    torch.testing.assert_close(
        g.target.attn1.fully_connect_layer[0].weight, state["target.attn1.fully_connect_layer.0.weight"]
    )
    torch.testing.assert_close(g.flow_net.jump2.conv1.weight, state["flow_net.jump2.model.2.weight"])
    assert g.target.outconv.model[2] is g.target.outconv.conv1  # still one conv after loading
    torch.testing.assert_close(g.source.block0.model[2].bias, state["source.block0.model.2.bias"])


def test_a_file_with_one_name_per_aliased_conv_and_a_dataparallel_prefix_loads(tmp_path):
    state = {
        f"module.{k}": v
        for k, v in official_generator_state().items()
        if ".model.2." not in k or "jump" not in k and "outconv" not in k
    }
    torch.save(state, tmp_path / "g.pth")
    g = PoseGenerator(with_preset(GflaParams(), "deepfashion256"))
    load_official_generator(g, tmp_path / "g.pth")
    torch.testing.assert_close(g.flow_net.jump0.model[2].weight, state["module.flow_net.jump0.conv1.weight"])


def test_aliased_copies_that_disagree_are_refused(tmp_path):
    state = official_generator_state()
    state["target.outconv.model.2.weight"] = state["target.outconv.conv1.weight"] + 1
    torch.save(state, tmp_path / "g.pth")
    with pytest.raises(UserError, match="stored twice but differ"):
        load_official_generator(
            PoseGenerator(with_preset(GflaParams(), "deepfashion256")), tmp_path / "g.pth"
        )


def test_a_stage1_flow_file_loads_into_the_flow_estimator_only(tmp_path):
    state = {k: v for k, v in official_generator_state().items() if k.startswith("flow_net.")}
    torch.save(state, tmp_path / "flow.pth")
    g = PoseGenerator(with_preset(GflaParams(), "deepfashion256"))
    before = g.source.block0.model[2].weight.clone()
    assert load_official_generator(g, tmp_path / "flow.pth").kind == "official-stage1-flow"
    torch.testing.assert_close(g.flow_net.output1.weight, state["flow_net.output1.weight"])
    torch.testing.assert_close(g.source.block0.model[2].weight, before)


def test_official_discriminator_with_spectral_norm_buffers_loads(tmp_path):
    state = official_discriminator_state()
    torch.save(state, tmp_path / "latest_net_D.pth")
    d = ResDiscriminator(with_preset(GflaParams(), "deepfashion256"))
    assert load_official_discriminator(d, tmp_path / "latest_net_D.pth").keys == 52
    torch.testing.assert_close(d.encoder1.model[3].weight_orig, state["encoder1.model.3.weight_orig"])
    torch.testing.assert_close(d.conv.weight_u, state["conv.weight_u"])
    d.eval()
    assert d(torch.randn(1, 3, 256, 256)).shape == (1, 1, 16, 16)


def test_a_generator_of_another_configuration_is_refused_with_one_line(tmp_path):
    torch.save(official_generator_state(), tmp_path / "g.pth")
    small = PoseGenerator(with_preset(GflaParams(), "demo"))
    with pytest.raises(UserError, match="has shape"):
        load_official_generator(small, tmp_path / "g.pth")


def test_pose_transfer_runs_from_an_official_generator_file(tmp_path):
    torch.save(official_generator_state(), tmp_path / "latest_net_G.pth")
    transfer = load_pose_transfer(tmp_path / "latest_net_G.pth")
    assert transfer.size == (256, 256) and transfer.params.attn_kernel_h4 == 5
    person = draw_person(pose(1), (200, 40, 40), (88, 128))
    out = transfer.transfer(person, pose(1), pose(2))
    assert out.size == person.size and out.mode == "RGB"
    assert np.asarray(out).std() > 0
