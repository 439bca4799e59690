"""GFLA (Ren et al., CVPR 2020): global flow, local attention, for re-posing a person image.

Read top to bottom next to the paper. Module and attribute names follow the official code
(`source`, `target`, `flow_net`, `block0`, `encoder<i>`, `decoder<i>`, `attn<i>`, `jump<i>`,
`output<i>`, `mask<i>`, `outconv`), so an official `latest_net_G.pth` maps onto these modules key for
key (see checkpoint_io). Like the official `Output` and `Jump` blocks, those two keep their conv both
as `conv1` and inside `model`, so their weights appear under two state-dict names.

Shapes at the official DeepFashion setting (256 x 256):
- `PoseSourceNet` encodes the source image to features at H/2, H/4, H/8.
- `PoseFlowNet` reads (source image, source pose, target pose) and predicts, at H/8 and H/4, a flow
  field (where each target position should read the source, in pixels of that map) and an occlusion
  mask (1 = take the warped source, 0 = let the target branch fill in).
- `PoseTargetNet` encodes the target pose to H/8 and decodes to the image; at H/8 (k 3) and H/4 (k 5)
  a local-attention block reads the source features along the flow and is blended in by the mask.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm

from adgen.models.gfla.config import GflaParams
from adgen.models.gfla.local_attention import ExtractorAttn

LEAKY_SLOPE = 0.1
STRUCTURE_NC = 18  # OpenPose keypoint heatmaps
IMAGE_NC = 3


def _act() -> nn.Module:
    return nn.LeakyReLU(LEAKY_SLOPE)


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=True)


def _sn(module: nn.Module, use: bool) -> nn.Module:
    return spectral_norm(module) if use else module


# --------------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------------


class EncoderBlock(nn.Module):
    """Halve the resolution: [IN, LReLU, conv 4x4 s2, IN, LReLU, conv 3x3]."""

    def __init__(self, input_nc: int, output_nc: int):
        super().__init__()
        act = _act()
        self.model = nn.Sequential(
            _norm(input_nc),
            act,
            nn.Conv2d(input_nc, output_nc, kernel_size=4, stride=2, padding=1),
            _norm(output_nc),
            act,
            nn.Conv2d(output_nc, output_nc, kernel_size=3, stride=1, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class ResBlock(nn.Module):
    """Same-width residual block: x + [IN, LReLU, conv3, IN, LReLU, conv3](x)."""

    def __init__(self, channels: int):
        super().__init__()
        act = _act()
        self.model = nn.Sequential(
            _norm(channels),
            act,
            nn.Conv2d(channels, channels, 3, 1, 1),
            _norm(channels),
            act,
            nn.Conv2d(channels, channels, 3, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) + x


class ResBlocks(nn.Module):
    def __init__(self, num_blocks: int, channels: int):
        super().__init__()
        self.model = nn.Sequential(*[ResBlock(channels) for _ in range(num_blocks)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class ResBlockDecoder(nn.Module):
    """Double the resolution, residual: [IN, LReLU, conv3, IN, LReLU, convT 3 s2] + convT 3 s2."""

    def __init__(self, input_nc: int, output_nc: int, hidden_nc: int | None = None):
        super().__init__()
        hidden_nc = input_nc if hidden_nc is None else hidden_nc
        act = _act()
        self.model = nn.Sequential(
            _norm(input_nc),
            act,
            nn.Conv2d(input_nc, hidden_nc, 3, 1, 1),
            _norm(hidden_nc),
            act,
            nn.ConvTranspose2d(hidden_nc, output_nc, 3, stride=2, padding=1, output_padding=1),
        )
        self.shortcut = nn.Sequential(
            nn.ConvTranspose2d(input_nc, output_nc, 3, stride=2, padding=1, output_padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) + self.shortcut(x)


class ResBlockEncoder(nn.Module):
    """Discriminator block, no norm: [LReLU, conv3, LReLU, conv4 s2] + [avgpool 2, conv1x1]."""

    def __init__(self, input_nc: int, output_nc: int, hidden_nc: int, use_spect: bool = True):
        super().__init__()
        act = _act()
        self.model = nn.Sequential(
            act,
            _sn(nn.Conv2d(input_nc, hidden_nc, 3, 1, 1), use_spect),
            act,
            _sn(nn.Conv2d(hidden_nc, output_nc, 4, 2, 1), use_spect),
        )
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2), _sn(nn.Conv2d(input_nc, output_nc, 1, 1, 0), use_spect)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) + self.shortcut(x)


class Output(nn.Module):
    """Image head: LReLU, reflection pad, conv 3x3 → 3, tanh (no norm)."""

    def __init__(self, input_nc: int, output_nc: int, kernel_size: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(input_nc, output_nc, kernel_size, padding=0, bias=True)
        self.model = nn.Sequential(_act(), nn.ReflectionPad2d(kernel_size // 2), self.conv1, nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class Jump(nn.Module):
    """Skip connection of the flow net: LReLU, reflection pad, conv 3x3 (no norm)."""

    def __init__(self, input_nc: int, output_nc: int, kernel_size: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(input_nc, output_nc, kernel_size, padding=0, bias=True)
        self.model = nn.Sequential(_act(), nn.ReflectionPad2d(kernel_size // 2), self.conv1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def channel_widths(ngf: int, img_f: int, n: int) -> list[int]:
    """Channel widths of an encoder: ngf, then doubling, capped at img_f (official `mult` rule)."""
    return [ngf * min(2**i, img_f // ngf) for i in range(n)]


# --------------------------------------------------------------------------------------------------
# The three parts of the generator
# --------------------------------------------------------------------------------------------------


class PoseSourceNet(nn.Module):
    """Source image → features at H/2, H/4, H/8 (returned deepest first, with the image last)."""

    def __init__(self, ngf: int = 64, img_f: int = 512, layers: int = 3):
        super().__init__()
        self.layers = layers
        w = channel_widths(ngf, img_f, layers)
        self.block0 = EncoderBlock(IMAGE_NC, w[0])
        for i in range(layers - 1):
            setattr(self, f"encoder{i}", EncoderBlock(w[i], w[i + 1]))

    def forward(self, source: torch.Tensor) -> list[torch.Tensor]:
        features = [source]
        out = self.block0(source)
        features.append(out)
        for i in range(self.layers - 1):
            out = getattr(self, f"encoder{i}")(out)
            features.append(out)
        return list(reversed(features))


class PoseFlowNet(nn.Module):
    """(source, source pose, target pose) → flow fields and occlusion masks at H/8 and H/4.

    A 5-level encoder down to H/32, then three up-sampling residual decoders with skip ("jump")
    connections; the heads after the 2nd (H/8) and 3rd (H/4) decoder give flow and mask.
    """

    ENCODER_LAYERS = 5
    ATTN_LAYERS = (3, 2)  # layers away from the output: 3 ↔ H/8, 2 ↔ H/4

    def __init__(self, ngf: int = 32, img_f: int = 256):
        super().__init__()
        n = self.ENCODER_LAYERS
        self.decoder_layers = n - min(self.ATTN_LAYERS)
        w = channel_widths(ngf, img_f, n)
        self.block0 = EncoderBlock(IMAGE_NC + 2 * STRUCTURE_NC, w[0])
        for i in range(n - 1):
            setattr(self, f"encoder{i}", EncoderBlock(w[i], w[i + 1]))
        self.heads: list[int] = []
        for i in range(self.decoder_layers):
            out_nc = w[n - i - 2]
            setattr(self, f"decoder{i}", ResBlockDecoder(w[n - i - 1], out_nc, out_nc))
            setattr(self, f"jump{i}", Jump(out_nc, out_nc, 3))
            if n - i - 1 in self.ATTN_LAYERS:
                setattr(self, f"output{i}", nn.Conv2d(out_nc, 2, kernel_size=3, stride=1, padding=1))
                setattr(self, f"mask{i}", nn.Sequential(nn.Conv2d(out_nc, 1, 3, 1, 1), nn.Sigmoid()))
                self.heads.append(i)

    def forward(
        self, source: torch.Tensor, source_pose: torch.Tensor, target_pose: torch.Tensor
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        n = self.ENCODER_LAYERS
        out = self.block0(torch.cat((source, source_pose, target_pose), dim=1))
        skips = [out]
        for i in range(n - 1):
            out = getattr(self, f"encoder{i}")(out)
            skips.append(out)
        flows, masks = [], []
        for i in range(self.decoder_layers):
            out = getattr(self, f"decoder{i}")(out) + getattr(self, f"jump{i}")(skips[n - i - 2])
            if i in self.heads:
                flows.append(getattr(self, f"output{i}")(out))
                masks.append(getattr(self, f"mask{i}")(out))
        return flows, masks


class PoseTargetNet(nn.Module):
    """Target pose → image, reading the source features through local attention at H/8 and H/4."""

    def __init__(
        self,
        ngf: int = 64,
        img_f: int = 512,
        layers: int = 3,
        num_blocks: int = 2,
        kernel_h8: int = 3,
        kernel_h4: int = 5,
    ):
        super().__init__()
        assert layers == 3, "attention sits at H/8 and H/4: the target net has 3 levels"
        self.layers = layers
        kernels = {3: kernel_h8, 2: kernel_h4}  # layers away from the output → window
        w = channel_widths(ngf, img_f, layers)
        self.block0 = EncoderBlock(STRUCTURE_NC, w[0])
        for i in range(layers - 1):
            setattr(self, f"encoder{i}", EncoderBlock(w[i], w[i + 1]))
        self.attn_at: list[int] = []
        for i in range(layers):
            in_nc = w[layers - 1 - i]
            out_nc = w[layers - 2 - i] if i < layers - 1 else ngf
            blocks: list[nn.Module] = []
            if num_blocks > 1:
                blocks.append(ResBlocks(num_blocks - 1, in_nc))
            blocks.append(ResBlockDecoder(in_nc, out_nc))
            setattr(self, f"decoder{i}", nn.Sequential(*blocks))
            if layers - i in kernels:
                setattr(self, f"attn{i}", ExtractorAttn(in_nc, kernels[layers - i], _act()))
                self.attn_at.append(i)
        self.outconv = Output(ngf, IMAGE_NC, 3)

    def forward(
        self,
        target_pose: torch.Tensor,
        source_features: list[torch.Tensor],
        flows: list[torch.Tensor],
        masks: list[torch.Tensor],
    ) -> torch.Tensor:
        out = self.block0(target_pose)
        for i in range(self.layers - 1):
            out = getattr(self, f"encoder{i}")(out)
        used = 0
        for i in range(self.layers):
            if i in self.attn_at:
                warped = getattr(self, f"attn{i}")(source_features[i], out, flows[used])
                out = out * (1 - masks[used]) + warped * masks[used]
                used += 1
            out = getattr(self, f"decoder{i}")(out)
        return self.outconv(out)


class PoseGenerator(nn.Module):
    """source image + source pose + target pose → the person re-posed (plus flows and masks)."""

    def __init__(self, p: GflaParams):
        super().__init__()
        self.source = PoseSourceNet(p.ngf, p.img_f, 3)
        self.target = PoseTargetNet(p.ngf, p.img_f, 3, p.num_blocks, p.attn_kernel_h8, p.attn_kernel_h4)
        self.flow_net = PoseFlowNet(p.flow_ngf, p.flow_img_f)

    def forward(
        self, source: torch.Tensor, source_pose: torch.Tensor, target_pose: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        assert source.shape[1] == IMAGE_NC and source_pose.shape[1] == target_pose.shape[1] == STRUCTURE_NC
        assert source.shape[2] % 32 == 0 and source.shape[3] % 32 == 0, source.shape
        features = self.source(source)
        flows, masks = self.flow_net(source, source_pose, target_pose)
        image = self.target(target_pose, features, flows, masks)
        return image, flows, masks


class ResDiscriminator(nn.Module):
    """Residual discriminator with spectral norm on every conv; sees the image only."""

    def __init__(self, p: GflaParams, use_spect: bool = True):
        super().__init__()
        self.layers = p.d_layers
        w = channel_widths(p.ndf, p.d_img_f, p.d_layers)
        self.nonlinearity = _act()
        self.block0 = ResBlockEncoder(IMAGE_NC, w[0], w[0], use_spect)
        for i in range(p.d_layers - 1):
            setattr(self, f"encoder{i}", ResBlockEncoder(w[i], w[i + 1], w[i], use_spect))
        self.conv = _sn(nn.Conv2d(w[-1], 1, 1), use_spect)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block0(x)
        for i in range(self.layers - 1):
            out = getattr(self, f"encoder{i}")(out)
        return self.conv(self.nonlinearity(out))


@torch.no_grad()
def init_weights(net: nn.Module, gain: float = 0.02) -> None:
    """Official init: orthogonal (gain 0.02) conv weights, zero biases; norms stay at 1/0."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            weight = m.weight_orig if hasattr(m, "weight_orig") else m.weight
            nn.init.orthogonal_(weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def build(p: GflaParams) -> tuple[PoseGenerator, ResDiscriminator]:
    g, d = PoseGenerator(p), ResDiscriminator(p)
    init_weights(g)
    init_weights(d)
    return g, d


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
