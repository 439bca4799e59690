"""StyleGAN2's losses: non-saturating logistic GAN loss, R1 and path-length regularisation.

Each function returns the loss of one phase (scalar) for one minibatch; the trainer decides when
the lazy regularisers run and multiplies them by their interval (lazy regularisation).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from adgen.models.stylegan2.augment import AugmentPipe
from adgen.models.stylegan2.model import Discriminator, Generator


class StyleGAN2Loss:
    """The losses of G and D, sharing style mixing, augmentation and the path-length mean."""

    def __init__(
        self,
        G: Generator,
        D: Discriminator,
        augment: AugmentPipe | None,
        r1_gamma: float,
        style_mixing: float = 0.9,
        pl_weight: float = 2.0,
        pl_batch_shrink: int = 2,
        pl_decay: float = 0.01,
        average: Callable[[torch.Tensor], torch.Tensor] = lambda t: t,
    ):
        self.G, self.D, self.augment = G, D, augment
        self.r1_gamma, self.style_mixing = r1_gamma, style_mixing
        self.pl_weight, self.pl_batch_shrink, self.pl_decay = pl_weight, pl_batch_shrink, pl_decay
        self.pl_mean = torch.zeros([])
        # The path-length mean follows the whole batch's lengths, every rank's (NVlabs keeps one
        # per rank): the same on all ranks, so rank 0's checkpoint resumes every rank exactly.
        self.average = average

    # --- forward passes -----------------------------------------------------------------
    def run_G(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and their w+ from z, mixing in a second latent after a random layer."""
        mapping = self.G.mapping
        ws = mapping(z, update_w_avg=True)
        if self.style_mixing > 0:
            num_ws = ws.shape[1]
            cutoff = int(torch.randint(1, num_ws, []))
            if float(torch.rand([])) < self.style_mixing:
                ws2 = mapping(torch.randn_like(z))
                ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
        return self.G.synthesis(ws), ws

    def run_D(self, img: torch.Tensor) -> torch.Tensor:
        """Logits in float32, also under mixed precision (losses and ADA statistics need them)."""
        if self.augment is not None:
            img = self.augment(img)
        return self.D(img).float()

    # --- phases -------------------------------------------------------------------------
    def generator_main(self, z: torch.Tensor) -> torch.Tensor:
        """Non-saturating loss: softplus(-D(G(z)))."""
        img, _ = self.run_G(z)
        return F.softplus(-self.run_D(img)).mean()

    def generator_path_length(self, z: torch.Tensor) -> torch.Tensor:
        """(|J_w^T y| - a)^2: keeps a fixed-size step in w a fixed-size change in the image."""
        z = z[: max(z.shape[0] // self.pl_batch_shrink, 1)]
        img, ws = self.run_G(z)
        noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
        (grads,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)
        lengths = grads.square().sum(2).mean(1).sqrt()
        batch_mean = self.average(lengths.mean().detach())
        self.pl_mean = self.pl_mean.to(lengths.device).lerp(batch_mean, self.pl_decay)
        penalty = (lengths - self.pl_mean).square().mean()
        return penalty * self.pl_weight + img[:, 0, 0, 0].mean() * 0

    def discriminator_main(self, z: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """softplus(D(G(z))) + softplus(-D(x)); also returns D(real) for the ADA heuristic."""
        with torch.no_grad():
            fake, _ = self.run_G(z)
        loss_fake = F.softplus(self.run_D(fake)).mean()
        real_logits = self.run_D(real)
        loss_real = F.softplus(-real_logits).mean()
        return loss_fake, loss_real, real_logits

    def discriminator_r1(self, real: torch.Tensor) -> torch.Tensor:
        """gamma/2 * |grad_x D(x)|^2 on reals.

        The first-order gradient is taken w.r.t. the images only (autograd.grad with
        inputs=[x]), so no weight gradients are computed in that pass; the weights get theirs
        once, from the penalty's backward.
        """
        real = real.detach().requires_grad_(True)
        logits = self.run_D(real)
        (grads,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
        penalty = grads.square().sum(dim=[1, 2, 3]).mean()
        return penalty * (self.r1_gamma / 2) + logits.mean() * 0
