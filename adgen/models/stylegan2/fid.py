"""StyleGAN2's FID while it trains (NVlabs tracks fid50k_full the same way): real statistics
computed once, fakes each time, with the shared FID pieces of adgen.metrics. It lives with the model
it samples, so adgen.metrics imports no model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from adgen.config.quality import MetricsParams
from adgen.metrics.fid import image_stats, require_graph
from adgen.metrics.maths import FeatureStats, frechet_distance


def fid_of_generator(metrics: MetricsParams, sg_params, root: Path) -> Callable:
    """A function G_ema -> FID against `sg_params.dataset`, for `train(..., fid_fn=...)`.

    Fails now (one line) when metrics.fid_inception_graph is unset, not at the first tick.
    """
    graph = metrics.fid_inception_graph
    graph = require_graph(None if graph is None else (graph if graph.is_absolute() else root / graph))
    n = sg_params.fid_images
    real: list[FeatureStats] = []

    def compute(G) -> float:
        from adgen.models.stylegan2.train import generate

        if not real:
            real.append(image_stats(sg_params.dataset, graph, metrics.batch_size, limit=n))
        count = min(n, real[0].count)
        fakes = generate(G, list(range(count)), truncation=1.0, batch=metrics.batch_size)
        return frechet_distance(real[0], image_stats(fakes, graph, metrics.batch_size))

    return compute
