"""`adgen fixture-site serve`: run the fixture stock site in the foreground (demo, benchmarks, by hand)."""

from __future__ import annotations

import typer

from adgen.clikit import CliGroups, params

app = typer.Typer(
    help="The offline fixture stock site (synthetic photos with known ground truth).", no_args_is_help=True
)


@app.command("serve")
def serve(
    ctx: typer.Context,
    port: int = typer.Option(None, "--port", help="port on 127.0.0.1 (0: any free port) [fixture_site.port]"),
    images: int = typer.Option(None, "--images", help="number of photos [fixture_site.images]"),
    seed: int = typer.Option(None, "--seed", help="seed of the photos [fixture_site.seed]"),
    latency_ms: float = typer.Option(
        None, "--latency-ms", help="delay per request [fixture_site.latency_ms]"
    ),
    no_hostile: bool = typer.Option(False, "--no-hostile", help="leave out the hostile cases"),
    warm: bool = typer.Option(False, "--warm", help="render every photo before serving (for benchmarks)"),
    verbose: bool = typer.Option(False, "--verbose", help="log every request to stderr"),
) -> None:
    """Serve 123rf-, depositphotos-, getty- and profile-style pages until Ctrl-C."""
    import threading

    from adgen.errors import UserError
    from adgen.fixture_site.server import FixtureSite

    p = params(ctx).fixture_site
    for name, value in (("--port", port), ("--images", images), ("--latency-ms", latency_ms)):
        if value is not None and value < 0:
            raise UserError(f"{name} {value}: must be >= 0")
    site = FixtureSite(
        images=p.images if images is None else images,
        seed=p.seed if seed is None else seed,
        port=p.port if port is None else port,
        host=p.host,
        latency_ms=p.latency_ms if latency_ms is None else latency_ms,
        queries=tuple(p.queries),
        per_page=p.per_page,
        slow_seconds=p.slow_seconds,
        huge_bytes=p.huge_bytes,
        hostile=p.hostile and not no_hostile,
        verbose=verbose,
    )
    try:
        site.start()
    except OSError as exc:
        raise UserError(
            f"cannot listen on {p.host}:{site.port}: {exc.strerror or exc}; pick another --port"
        ) from None
    if warm:
        import time

        started = time.monotonic()
        site.warm()
        print(f"rendered {site.layout.images} photos in {time.monotonic() - started:.1f} s", flush=True)
    print(f"fixture site: {site.base_url}  ({site.layout.images} photos, seed {site.seed})", flush=True)
    for name in ("123rf", "depositphotos", "getty", "profile"):
        print(f"  {name:14s} {site.site_url(name)}")
    print(f"  ground truth   {site.base_url}/ground-truth.json\nCtrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()


def register(groups: CliGroups) -> None:
    groups.root.add_typer(app, name="fixture-site")
