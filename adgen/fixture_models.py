"""`adgen fixture-models …`: generators of the FIXTURE model stand-ins for the offline demo and tests.

No real model can be downloaded offline, so each area that needs one ships a generator of a small
real SavedModel with the real model's signature that works on the fixture site's synthetic photos
only (`detector`: adgen.detect; `pose`: adgen.pose). The sub-app lives here so both can add to it;
the filter's CLI registers it on the root once.
"""

from __future__ import annotations

import typer

fixture_models_app = typer.Typer(
    help="Build FIXTURE stand-in models (offline demo/tests only; they only see the fixture site's photos).",
    no_args_is_help=True,
)
