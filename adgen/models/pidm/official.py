"""The official PIDM release's parameter names ↔ ours, in one place.

The released DeepFashion checkpoint (ankanbhunia/PIDM, `last.pt`) is a dict whose `ema` entry is the
EMA network's state dict under the official module names (`BeatGANsAutoencModel`). The networks
have the same structure (adgen/models/pidm/model.py), so each name maps one to one:

    time_embed.time_embed.{0,2}         time_embed.fc{1,2}
    input_blocks.0.0                    stem
    input_blocks.K.I                    input_blocks.(K-1).<I-th child: res, attn>
    middle_block.{0,1,2}                middle.{res1,attn,res2}
    output_blocks.K.I                   output_blocks.K.<I-th child: res, attn, resample>
    out.{0,2}                           out_norm, out_conv
    encoder.time_embed.{0,2}            encoder.unused_time_embed.fc{1,2}
    encoder.input_blocks.0.0            encoder.stem
    encoder.input_blocks.K.0            encoder.blocks.(K-1).res
  inside a residual block:  in_layers.{0,2} in_norm/in_conv, emb_layers.1 emb_proj,
    cond_emb_layers.1 style_proj, out_layers.{0,3} out_norm/out_conv, skip_connection skip;
  inside an attention block: norm, qkv self_qkv, to_kv, to_q, proj_out1 self_proj, proj_out2 proj.

Loading reads the file with `adgen.training.checkpoint.read` (weights only). The released `last.pt`
also pickles the training config object (`conf`, a tensorfn/pydantic class), which the weights-only
reader refuses without running anything: take the weights out once, where the official code is
installed (EXTRACT_HINT), and load that file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from adgen.errors import UserError
from adgen.models.pidm.model import Block, CrossAttention, MiddleBlock, PidmUNet, ResBlock, TimeEmbedding

RESBLOCK = {
    "in_norm": "in_layers.0",
    "in_conv": "in_layers.2",
    "emb_proj": "emb_layers.1",
    "style_proj": "cond_emb_layers.1",
    "out_norm": "out_layers.0",
    "out_conv": "out_layers.3",
    "skip": "skip_connection",
}
ATTENTION = {
    "norm": "norm",
    "self_qkv": "qkv",
    "to_kv": "to_kv",
    "to_q": "to_q",
    "self_proj": "proj_out1",
    "proj": "proj_out2",
}
TIME = {"fc1": "0", "fc2": "2"}
EXTRACT_HINT = (
    "The released PIDM last.pt also pickles its training config: in the official code's environment "
    "(which loads it so, as its predict.py does), save its 'ema' entry alone with torch.save as "
    "{'ema': ...} to pidm_ema.pt, and load pidm_ema.pt"
)


def _translate(module: nn.Module, ours: str, official: str, out: dict[str, str]) -> None:
    if isinstance(module, ResBlock | CrossAttention | TimeEmbedding):
        table = (
            RESBLOCK
            if isinstance(module, ResBlock)
            else ATTENTION
            if isinstance(module, CrossAttention)
            else TIME
        )
        for child, theirs in table.items():
            for name, _ in getattr(module, child).named_parameters():
                out[f"{ours}.{child}.{name}"] = f"{official}.{theirs}.{name}"
    elif isinstance(module, Block | MiddleBlock):
        # the official TimestepEmbedSequential numbers its layers in the order ours are registered
        for i, (child, sub) in enumerate(module.named_children()):
            _translate(sub, f"{ours}.{child}", f"{official}.{i}", out)
    else:
        for name, _ in module.named_parameters():
            out[f"{ours}.{name}"] = f"{official}.{name}"


def official_names(model: PidmUNet) -> dict[str, str]:
    """Our parameter name → the official one, for every parameter of `model`."""
    out: dict[str, str] = {}
    _translate(model.time_embed, "time_embed", "time_embed.time_embed", out)
    _translate(model.stem, "stem", "input_blocks.0.0", out)
    for k, block in enumerate(model.input_blocks):
        _translate(block, f"input_blocks.{k}", f"input_blocks.{k + 1}", out)
    _translate(model.middle, "middle", "middle_block", out)
    for k, block in enumerate(model.output_blocks):
        _translate(block, f"output_blocks.{k}", f"output_blocks.{k}", out)
    _translate(model.out_norm, "out_norm", "out.0", out)
    _translate(model.out_conv, "out_conv", "out.2", out)
    enc = model.encoder
    _translate(enc.unused_time_embed, "encoder.unused_time_embed", "encoder.time_embed", out)
    _translate(enc.stem, "encoder.stem", "encoder.input_blocks.0.0", out)
    for k, block in enumerate(enc.blocks):
        _translate(block, f"encoder.blocks.{k}", f"encoder.input_blocks.{k + 1}", out)
    missing = set(model.state_dict()) - set(out)
    assert not missing, f"no official name for {sorted(missing)[:3]}"
    return out


def to_ours(
    official_state: dict[str, Any], model: PidmUNet, where: str = "official PIDM weights"
) -> dict[str, Any]:
    """The official state dict under our names; every name of either side must have its partner."""
    names = official_names(model)
    theirs = set(official_state)
    wanted = set(names.values())
    if theirs != wanted:
        extra, missing = sorted(theirs - wanted), sorted(wanted - theirs)
        parts = [f"{len(missing)} missing (e.g. {missing[0]})"] if missing else []
        parts += [f"{len(extra)} unexpected (e.g. {extra[0]})"] if extra else []
        raise UserError(f"{where}: not the official PIDM network of this configuration: {', '.join(parts)}")
    return {ours: official_state[off] for ours, off in names.items()}


def load_official(path: str | Path, model: PidmUNet, entry: str = "ema") -> PidmUNet:
    """Load the official checkpoint's `entry` ("ema", the released sampling weights, or "model")
    into `model`, strictly (names and shapes)."""
    from adgen.training import checkpoint

    try:
        state = checkpoint.read(path, "official PIDM checkpoint")
    except checkpoint.UnsafeCheckpoint as exc:
        raise checkpoint.UnsafeCheckpoint(f"{exc}. {EXTRACT_HINT}") from None
    if isinstance(state, dict) and entry in state:
        state = state[entry]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"official PIDM checkpoint {path}: no {entry!r} state dict of tensors")
    checkpoint.load_weights(
        model, to_ours(state, model, f"official PIDM checkpoint {path}"), f"official PIDM checkpoint {path}"
    )
    return model
