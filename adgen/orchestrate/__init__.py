"""Plain functions the orchestration layers (Prefect flows, `make demo`, tests) call.

Nothing here computes a stage: it runs the `adgen`/`dvc`/`git` commands, applies params presets,
records dataset versions and decides when a refresh should trigger training.
"""
