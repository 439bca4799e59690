"""Load GFLA weights by path: the official checkpoints, or our own training checkpoints.

The official code saves one plain state dict per network: `latest_net_G.pth` (keys under `source.`,
`target.`, `flow_net.`) and `latest_net_D.pth` (`block0.`, `encoder<i>.`, `conv.`, spectral-norm convs
as `weight_orig` / `weight_u` / `weight_v` / `bias`). Our modules carry the official names, so most
keys map one to one. What this module handles:
- aliases: the `Output`/`Jump` convs are stored twice (`…conv1.*` and `…model.2.*`); the two copies
  must agree, and a file holding only one of them still loads;
- wrapper prefixes (`module.` from DataParallel, `net_G.`/`net_D.`);
- a stage-1 file (flow estimator only: `flow_net.*`) loads into the flow net and leaves the rest;
- the network shape is read from the file (`infer_params`), so a 256 px official file and a
  `p128`-trained file both load without the user naming a preset;
- clear one-line errors naming the file, the first bad key and what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from adgen.errors import UserError
from adgen.models.gfla.config import GflaParams
from adgen.models.gfla.model import PoseGenerator, ResDiscriminator, channel_widths
from adgen.training import checkpoint

_PREFIXES = ("module.", "net_G.", "net_D.", "netG.", "netD.")
_ALIAS = re.compile(r"^(?P<owner>.*\.(?:outconv|jump\d+))\.(?:conv1|model\.2)\.(?P<leaf>weight|bias)$")


@dataclass(frozen=True)
class LoadReport:
    path: Path
    kind: str  # "official-G", "official-stage1-flow", "official-D", "adgen"
    keys: int
    values: int


def read_state(path: str | Path, what: str = "GFLA checkpoint") -> dict[str, Any]:
    """A state dict or our checkpoint, loaded weights-only (official files are plain state dicts)."""
    path = Path(path)
    obj = checkpoint.read(path, what)
    if not isinstance(obj, dict):
        raise UserError(f"{what} {path} holds a {type(obj).__name__}, not a state dict or checkpoint")
    return obj


def strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        for prefix in _PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
        out[key] = value
    return out


def resolve_aliases(state: dict[str, torch.Tensor], where: str) -> dict[str, torch.Tensor]:
    """Give both alias names the one stored tensor; refuse a file whose two copies differ."""
    state = dict(state)
    for key in list(state):
        m = _ALIAS.match(key)
        if not m:
            continue
        names = [f"{m['owner']}.conv1.{m['leaf']}", f"{m['owner']}.model.2.{m['leaf']}"]
        present = [n for n in names if n in state]
        if len(present) == 2 and not torch.equal(state[names[0]], state[names[1]]):
            raise UserError(
                f"{where}: {names[0]} and {names[1]} are one conv stored twice but differ; the file is corrupt"
            )
        for n in names:
            state[n] = state[present[0]]
    return state


def _load_strict(module: torch.nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    checkpoint.load_weights(module, state, where)


def infer_params(state: dict[str, torch.Tensor], base: GflaParams | None = None) -> GflaParams:
    """The network widths and attention windows a generator state dict was built with."""
    base = base or GflaParams()
    upd: dict[str, Any] = {}
    if "source.block0.model.2.weight" in state:
        ngf = state["source.block0.model.2.weight"].shape[0]
        deepest = state["source.encoder1.model.2.weight"].shape[0]
        img_f = base.img_f if channel_widths(ngf, base.img_f, 3)[-1] == deepest else deepest
        upd.update(ngf=ngf, img_f=img_f)
        upd["attn_kernel_h8"] = state["target.attn0.fully_connect_layer.0.weight"].shape[-1]
        upd["attn_kernel_h4"] = state["target.attn1.fully_connect_layer.0.weight"].shape[-1]
        # decoder0 = [ResBlocks(num_blocks - 1), ResBlockDecoder], or just the decoder when num_blocks is 1
        res = {
            k.split(".")[4]
            for k in state
            if k.startswith("target.decoder0.0.model.") and k.split(".")[5:6] == ["model"]
        }
        upd["num_blocks"] = len(res) + 1
    if "flow_net.block0.model.2.weight" in state:
        upd["flow_ngf"] = state["flow_net.block0.model.2.weight"].shape[0]
        upd["flow_img_f"] = state["flow_net.encoder3.model.2.weight"].shape[0]
    merged = base.model_dump()
    merged.update(upd)
    return GflaParams.model_validate(merged)


def load_official_generator(g: PoseGenerator, path: str | Path) -> LoadReport:
    """Official `latest_net_G.pth` (or a stage-1 flow-net file) → `g`."""
    path = Path(path)
    where = f"GFLA generator {path}"
    state = resolve_aliases(strip_prefixes(read_state(path)), where)
    if state and all(k.startswith("flow_net.") for k in state):
        _load_strict(g.flow_net, {k.removeprefix("flow_net."): v for k, v in state.items()}, where)
        kind = "official-stage1-flow"
    else:
        _load_strict(g, state, where)
        kind = "official-G"
    return LoadReport(path, kind, len(state), sum(v.numel() for v in state.values()))


def load_official_discriminator(d: ResDiscriminator, path: str | Path) -> LoadReport:
    """Official `latest_net_D.pth` (spectral-norm weight_orig/u/v) → `d`."""
    path = Path(path)
    state = strip_prefixes(read_state(path))
    _load_strict(d, state, f"GFLA discriminator {path}")
    return LoadReport(path, "official-D", len(state), sum(v.numel() for v in state.values()))


def is_adgen_checkpoint(obj: dict[str, Any]) -> bool:
    return "g" in obj and "params" in obj


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> tuple[PoseGenerator, GflaParams]:
    """A ready generator (eval mode) from our training checkpoint or an official `latest_net_G.pth`."""
    path = Path(path)
    obj = read_state(path)
    if is_adgen_checkpoint(obj):
        params = checkpoint.params_from(GflaParams, obj["params"], f"GFLA checkpoint {path}")
        g = PoseGenerator(params)
        _load_strict(g, obj["g"], f"GFLA checkpoint {path}")
    else:
        state = resolve_aliases(strip_prefixes(obj), f"GFLA generator {path}")
        if not any(k.startswith("source.") for k in state):
            raise UserError(
                f"GFLA generator {path}: no `source.*` keys; a full generator file is needed "
                "(latest_net_G.pth of stage 2, not the stage-1 flow file)"
            )
        params = infer_params(state, GflaParams())
        g = PoseGenerator(params)
        _load_strict(g, state, f"GFLA generator {path}")
    return g.to(device).eval(), params
