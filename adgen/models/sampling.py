"""The sampling promise every sampler keeps: a seed's image is bit-identical whatever else is sampled.

CPU and GPU kernels choose their blocking, and so the order of their float sums, from the batch
size: a seed sampled in a batch of two came out one grey level off the same seed sampled alone (an
AMD EPYC; the floats differ by ~1e-6 on Intel too). So every sampler runs each seed's own forward
pass with batch 1, as NVlabs' gen_images.py does, and with cuDNN held to deterministic algorithms
without autotuning (training turns autotuning on, and it may pick other kernels in each process).

What stays machine-dependent is the float rounding of one pass: another CPU type, torch build,
GPU or CPU thread count may round differently, by at most about one grey level; the person is the
same, the bits need not be.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch


def latents_for_seeds(seeds: list[int], z_dim: int) -> torch.Tensor:
    """z for each seed, as NVlabs' generate.py: numpy RandomState(seed).randn(z_dim)."""
    return torch.from_numpy(np.stack([np.random.RandomState(s).randn(z_dim) for s in seeds])).float()


@contextmanager
def reproducible_kernels() -> Iterator[None]:
    """cuDNN's deterministic algorithms, no autotuning; restored after (a no-op for CPU kernels)."""
    cudnn = torch.backends.cudnn
    saved = cudnn.benchmark, cudnn.deterministic
    cudnn.benchmark, cudnn.deterministic = False, True
    try:
        yield
    finally:
        cudnn.benchmark, cudnn.deterministic = saved


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[N, 3, H, W] in [-1, 1] → uint8 [N, H, W, 3]."""
    return (images.float().permute(0, 2, 3, 1) * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy()


@torch.no_grad()
def images_per_seed(
    forward: Callable[[torch.Tensor], torch.Tensor], seeds: list[int], z_dim: int, device: torch.device
) -> np.ndarray:
    """uint8 [N, H, W, 3]: `forward` on each seed's z alone (batch 1), so no seed's image depends on
    the others."""
    z = latents_for_seeds(list(seeds), z_dim)
    with reproducible_kernels():
        return np.concatenate([to_uint8(forward(z[i : i + 1].to(device))) for i in range(len(z))])
