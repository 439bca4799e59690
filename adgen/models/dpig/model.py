"""The networks of Disentangled Person Image Generation (Ma et al., CVPR 2018), one class per concept.

Stage I learns two embeddings of a person: appearance (`AppearanceEncoder`: body-part ROIs of a
stem feature map, one shared residual encoder, 32 numbers per part, times the part's visibility)
and pose (`PoseEncoder`/`PoseDecoder`: an FC auto-encoder of the 54-d keypoint vector). The
`PoseConditionedDecoder` (a U-net) paints the person from the appearance embedding and the pose's
18 heatmaps, judged by `ImageDiscriminator`. Stage II learns `GaussianMapper`s from noise to each
embedding, each judged by an `EmbeddingCritic` (WGAN, weight clipping).

Layout, widths and activations follow the official TensorFlow graphs (`models.py`,
`trainer_256.py`) so the parameter counts are theirs; see docs/dpig.md for the few differences.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from adgen.models.dpig.rois import crop_and_resize

LEAK = 0.2  # LeakyReLU slope of the FC networks (wgan_gp.LeakyReLU)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def conv3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    """3x3 conv with bias; 'same' size (stride 1) or exact halving of even sizes (stride 2)."""
    return nn.Conv2d(cin, cout, 3, stride, 1)


class ConvResidual(nn.Module):
    """x + relu(conv(relu(conv(x)))) — the repeated unit of every conv tower here (official `res`)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = conv3(channels, channels)
        self.conv2 = conv3(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + F.relu(self.conv2(F.relu(self.conv1(x))))


class ResidualTower(nn.Module):
    """`levels` residual stages of width hidden·(i+1), a stride-2 conv between stages, then FC → out.

    The body-part encoder and the background branch of the official encoder are this tower.
    """

    def __init__(self, hidden: int, levels: int, in_size: tuple[int, int], out_dim: int):
        super().__init__()
        self.stages = nn.ModuleList([ConvResidual(hidden * (i + 1)) for i in range(levels)])
        self.down = nn.ModuleList([conv3(hidden * (i + 1), hidden * (i + 2), 2) for i in range(levels - 1)])
        h, w = in_size
        for _ in range(levels - 1):
            h, w = (h + 1) // 2, (w + 1) // 2
        self.out_size = (h, w)
        self.fc = nn.Linear(hidden * levels * h * w, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i < len(self.down):
                x = F.relu(self.down[i](x))
        return self.fc(x.flatten(1))


class AppearanceEncoder(nn.Module):
    """Image + part boxes → appearance embedding: parts·part_dim (+ background_dim with the background branch).

    Stem conv 3→hidden and one residual block on the whole image; each part's box is cropped from
    those features with bilinear crop-and-resize to roi×roi; one shared `ResidualTower` encodes every
    part to `part_dim` numbers, multiplied by the part's visibility (0 for a part with no keypoint).
    The Market variant adds a background branch: the same tower over the features outside the
    person (`1 - fg_mask`), to `background_dim` numbers.
    """

    def __init__(
        self,
        height: int,
        width: int,
        hidden: int = 128,
        levels: int = 7,
        roi: int = 64,
        parts: int = 7,
        part_dim: int = 32,
        background_dim: int = 0,
    ):
        super().__init__()
        self.parts, self.part_dim, self.roi = parts, part_dim, roi
        self.stem = conv3(3, hidden)
        self.stem_residual = ConvResidual(hidden)
        self.part_tower = ResidualTower(hidden, levels, (roi, roi), part_dim)
        self.background = (
            ResidualTower(hidden, levels, (height, width), background_dim) if background_dim else None
        )
        self.dim = parts * part_dim + background_dim

    def forward(
        self,
        image: torch.Tensor,
        boxes: torch.Tensor,
        visibility: torch.Tensor,
        fg_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        assert boxes.shape[1:] == (self.parts, 4) and visibility.shape[1:] == (self.parts,)
        b = image.shape[0]
        x = self.stem_residual(F.relu(self.stem(image)))
        if self.background is not None:
            assert fg_mask is not None, "the background branch needs the person mask"
            fg, bg = x * fg_mask, x * (1 - fg_mask)
        else:
            fg, bg = x, None
        crops = crop_and_resize(fg, boxes, self.roi, self.roi)  # (B·P, C, roi, roi), image-major
        parts = self.part_tower(crops).view(b, self.parts, self.part_dim)
        emb = (parts * visibility.to(parts.dtype).unsqueeze(-1)).flatten(1)
        if bg is not None:
            emb = torch.cat([emb, self.background(bg)], dim=1)
        return emb


class TiledEmbeddingConv(nn.Module):
    """conv3x3(concat(embedding tiled over every pixel, pose)) without building the tiled tensor.

    The official decoder tiles the embedding to (B, E, H, W) and concatenates the heatmaps. A conv of
    a constant map is, at each pixel, the sum of the kernel taps that fall inside the image applied
    to the embedding: we compute the per-tap vectors once and spread them with a 1-channel conv of
    an all-ones map. Same weights (so the same parameter count), same output, a fraction of the
    memory at 256x256 (224 tiled channels were ~60 MB per image, plus their gradient).
    """

    def __init__(self, embed_dim: int, pose_channels: int, out_channels: int):
        super().__init__()
        self.embed_dim = embed_dim
        self.conv = conv3(embed_dim + pose_channels, out_channels)

    def forward(self, emb: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        b, _, h, w = pose.shape
        weight_e = self.conv.weight[:, : self.embed_dim]  # (O, E, 3, 3)
        weight_p = self.conv.weight[:, self.embed_dim :]
        taps = torch.einsum("oekl,be->bokl", weight_e, emb.to(weight_e.dtype))  # (B, O, 3, 3)
        ones = pose.new_ones(1, 1, h, w)
        spread = F.conv2d(ones, taps.reshape(-1, 1, 3, 3).to(pose.dtype), padding=1).view(b, -1, h, w)
        return spread + F.conv2d(pose, weight_p, self.conv.bias, padding=1)

    def reference(self, emb: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        """The official computation, for tests: tile, concatenate, convolve."""
        b, _, h, w = pose.shape
        tiled = emb[:, :, None, None].expand(b, emb.shape[1], h, w)
        return self.conv(torch.cat([tiled, pose], dim=1))


class PoseConditionedDecoder(nn.Module):
    """Appearance embedding + pose heatmaps → image (official `GeneratorCNN_ID_UAEAfterResidual`).

    A U-net: stem conv, `levels` residual stages (width hidden·(i+1), stride-2 conv between), an FC
    bottleneck of `bottleneck` numbers and FC back to hidden channels at the smallest size, then the
    mirrored stages, each on [x, skip] with nearest-neighbour 2x upsampling and a 1x1 conv between,
    and a linear 3x3 output conv. ReLU everywhere, no normalisation.
    """

    def __init__(
        self,
        embed_dim: int,
        height: int,
        width: int,
        hidden: int = 128,
        levels: int = 5,
        bottleneck: int = 64,
        pose_channels: int = 18,
    ):
        super().__init__()
        f = 2 ** (levels - 1)
        assert height % f == 0 and width % f == 0, f"image size must be a multiple of {f}"
        self.levels, self.hidden = levels, hidden
        self.small = (height // f, width // f)
        self.stem = TiledEmbeddingConv(embed_dim, pose_channels, hidden)
        self.enc = nn.ModuleList([ConvResidual(hidden * (i + 1)) for i in range(levels)])
        self.down = nn.ModuleList([conv3(hidden * (i + 1), hidden * (i + 2), 2) for i in range(levels - 1)])
        area = self.small[0] * self.small[1]
        self.to_z = nn.Linear(hidden * levels * area, bottleneck)
        self.from_z = nn.Linear(bottleneck, hidden * area)
        dec, up = [], []
        x_ch = hidden
        for i in range(levels):
            ch = x_ch + hidden * (levels - i)  # [x, skip of encoder stage levels-1-i]
            dec.append(ConvResidual(ch))
            if i < levels - 1:
                x_ch = hidden * (levels - i - 1)
                up.append(nn.Conv2d(ch, x_ch, 1))
        self.dec = nn.ModuleList(dec)
        self.up = nn.ModuleList(up)
        self.out = conv3(ch, 3)

    def forward(self, emb: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem(emb, pose))
        skips = []
        for i, stage in enumerate(self.enc):
            x = stage(x)
            skips.append(x)
            if i < len(self.down):
                x = F.relu(self.down[i](x))
        z = self.to_z(x.flatten(1))
        x = self.from_z(z).view(-1, self.hidden, *self.small)
        for i, stage in enumerate(self.dec):
            x = stage(torch.cat([x, skips[self.levels - 1 - i]], dim=1))
            if i < len(self.up):
                x = F.relu(self.up[i](F.interpolate(x, scale_factor=2, mode="nearest")))
        return self.out(x)


class ImageDiscriminator(nn.Module):
    """DCGAN critic of images (official `DCGANDiscriminator`): four 5x5 stride-2 convs 3→d→2d→4d→8d,
    batch norm after all but the first, LeakyReLU 0.2, a linear head.

    The official head is `Linear(8·4·8·d → 1)` on the features reshaped to rows of that length: one
    logit per image at 128x64, eight per image (one per 32-channel slice) at 256x256. We keep that
    (same parameters, same logits) and, for images too small to fill one row, use the whole map.
    """

    def __init__(self, height: int, width: int, dim: int = 64):
        super().__init__()
        self.convs = nn.ModuleList(
            [
                nn.Conv2d(c_in, c_out, 5, 2, 2)
                for c_in, c_out in ((3, dim), (dim, 2 * dim), (2 * dim, 4 * dim), (4 * dim, 8 * dim))
            ]
        )
        self.norms = nn.ModuleList([nn.BatchNorm2d(c) for c in (2 * dim, 4 * dim, 8 * dim)])
        h, w = height, width
        for _ in range(4):
            h, w = (h + 1) // 2, (w + 1) // 2
        features = 8 * dim * h * w
        row = 8 * 4 * 8 * dim
        self.row = row if features % row == 0 else features
        self.logits_per_image = features // self.row
        self.head = nn.Linear(self.row, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.convs[0](image), LEAK)
        for conv, norm in zip(self.convs[1:], self.norms, strict=True):
            x = F.leaky_relu(norm(conv(x)), LEAK)
        return self.head(x.reshape(-1, self.row)).view(image.shape[0], self.logits_per_image)


class FCResidual(nn.Module):
    """x + act(fc(act(fc(x)))) — the repeated unit of the FC networks."""

    def __init__(self, width: int):
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + F.leaky_relu(self.fc2(F.leaky_relu(self.fc1(x), LEAK)), LEAK)


class PoseEncoder(nn.Module):
    """54-d pose vector → 32-d pose embedding: FC 512, 4 residual blocks, FC (official `PoseEncoderFCRes`)."""

    def __init__(self, in_dim: int = 54, hidden: int = 512, blocks: int = 4, z_dim: int = 32):
        super().__init__()
        self.fc_in = nn.Linear(in_dim, hidden)
        self.blocks = nn.Sequential(*[FCResidual(hidden) for _ in range(blocks)])
        self.fc_out = nn.Linear(hidden, z_dim)

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        return self.fc_out(self.blocks(F.leaky_relu(self.fc_in(pose), LEAK)))


def straight_through_round(p: torch.Tensor) -> torch.Tensor:
    """round(p) forward, identity gradient backward (official `binaryRound`)."""
    return p + (torch.round(p) - p).detach()


class PoseDecoder(nn.Module):
    """32-d embedding → 54-d pose vector: FC 512 (linear), 4 residual blocks, then 36 coordinates
    (linear) and 18 visibilities (sigmoid, rounded with a straight-through gradient)."""

    def __init__(self, z_dim: int = 32, hidden: int = 512, blocks: int = 4, keypoints: int = 18):
        super().__init__()
        self.keypoints = keypoints
        self.fc_in = nn.Linear(z_dim, hidden)
        self.blocks = nn.Sequential(*[FCResidual(hidden) for _ in range(blocks)])
        self.coords = nn.Linear(hidden, keypoints * 2)
        self.visible = nn.Linear(hidden, keypoints)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.fc_in(z))
        rc = self.coords(x).view(-1, self.keypoints, 2)
        vis = straight_through_round(torch.sigmoid(self.visible(x))).unsqueeze(-1)
        return torch.cat([rc, vis], dim=-1).flatten(1)


class GaussianMapper(nn.Module):
    """Gaussian noise → an embedding (official `GaussianFCRes`): FC hidden, residual blocks, FC out.

    The noise has the embedding's size and standard deviation 0.2, as released.
    """

    noise_std = 0.2

    def __init__(self, dim: int, hidden: int = 512, blocks: int = 4):
        super().__init__()
        self.dim = dim
        self.fc_in = nn.Linear(dim, hidden)
        self.blocks = nn.Sequential(*[FCResidual(hidden) for _ in range(blocks)])
        self.fc_out = nn.Linear(hidden, dim)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.fc_out(self.blocks(F.leaky_relu(self.fc_in(noise), LEAK)))

    def noise(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        return torch.randn(n, self.dim, generator=generator, device=device) * self.noise_std


class EmbeddingCritic(nn.Module):
    """WGAN critic of embeddings (official `FCDiscriminator`): FC 512, 3 more FC 512, FC → 1."""

    def __init__(self, dim: int, hidden: int = 512, layers: int = 3):
        super().__init__()
        widths = [dim] + [hidden] * (layers + 1)
        self.fcs = nn.ModuleList([nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)])
        self.out = nn.Linear(hidden, 1)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        x = emb
        for fc in self.fcs:
            x = F.leaky_relu(fc(x), LEAK)
        return self.out(x).squeeze(-1)

    @torch.no_grad()
    def clip_(self, bound: float) -> None:
        for p in self.parameters():
            p.clamp_(-bound, bound)
