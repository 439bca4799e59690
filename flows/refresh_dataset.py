"""refresh-dataset: crawl every site, rebuild the dataset, record a version, maybe trigger training.

Why the flow is shaped like this:
- Crawl is one task per site, each a Scrapy subprocess (`adgen crawl --site NAME`), so one slow or
  failing site is retried on its own (with exponential backoff) and never holds up the others, and
  a per-site global concurrency limit keeps two flows from crawling the same site at once.
- Failures are honest: a site that answered no request successfully (after Scrapy's own retries)
  fails its task, and the flow ends Failed naming it; a requested site that is not configured, or a
  bad param, fails the run at once, before any retry or concurrency limit (only transient faults
  are retried: `retry_condition_fn`). SIGTERM/SIGINT stop the run promptly (flows/common.py).
- Everything after the crawl is one `dvc repro` of the dataset stages present in dvc.yaml, so the
  DAG has a single definition and unchanged stages are skipped by DVC. Before it, `dvc commit crawl`
  records what the crawl tasks fetched as the crawl stage's output (as if `dvc repro` had run it).
- A changed dataset becomes a version (DVC push, git commit of dvc.lock, tag `dataset-YYYY-MM-DD`);
  when its kept set grew by more than `orchestrate.retrain_growth`, the training deployments are
  started with `run_deployment` without waiting for them (they run on the `gpu` pool).
Re-running with nothing new crawls only unseen pages, reproduces nothing, records no version and
triggers nothing.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.concurrency.sync import concurrency
from prefect.deployments import run_deployment
from prefect.tasks import exponential_backoff

from adgen import config
from adgen.orchestrate import commands, dag, versions
from adgen.orchestrate import sites as site_checks
from flows.common import (
    StoppableTaskRunner,
    TransientFault,
    dvc_repro,
    push_with_deps,
    retry_transient,
    run_logged,
    stop_on_signals,
)


class SiteUnreachable(TransientFault):
    """A site's crawl ended without one successful response (down, refusing, answering errors)."""


def site_limit_name(site: str) -> str:
    return f"crawl-site-{site}"


@task(name="ensure-site-limits")
def ensure_site_limits(sites: list[str], limit: int) -> None:
    """Create (or resize) one global concurrency limit per site on the Prefect server."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for site in sites:
            client.upsert_global_concurrency_limit_by_name(site_limit_name(site), limit)


@task(name="crawl-site", task_run_name="crawl-{site}", retry_condition_fn=retry_transient)
def crawl_site(site: str, timeout_s: float) -> None:
    """Crawl one site in its own Scrapy process, holding that site's concurrency slot; fail when
    the site answered nothing successfully (Scrapy retried each request already)."""
    with concurrency(site_limit_name(site), occupy=1, strict=True):
        run_logged(commands.adgen("crawl", "--site", site), timeout=timeout_s)
    why = site_checks.unreachable(config.load(Path.cwd() / "params.yaml"), site)
    if why is not None:
        raise SiteUnreachable(why)


@task(name="dvc-commit-crawl")
def commit_crawl() -> None:
    run_logged(commands.dvc("--wait-for-lock", "commit", "--force", "crawl"))


@task(name="dvc-commit-filter")
def commit_filter() -> None:
    run_logged(commands.dvc("--wait-for-lock", "commit", "--force", "filter"))


@task(name="record-dataset-version")
def record_version(
    stages: list[str], prefix: str, push: bool, base: str | None = None
) -> versions.DatasetVersion | None:
    root = Path.cwd()
    kept = versions.count_kept(config.load(root / "params.yaml"))
    logger = get_run_logger()
    version = versions.record_dataset_version(
        root, kept, stages=stages, prefix=prefix, push=push, on_line=logger.info, base=base
    )
    if version is None:
        logger.info("dataset unchanged: no new version")
    else:
        logger.info(
            "dataset version %s: %d kept images (commit %s)", version.tag, version.kept, version.commit[:10]
        )
    return version


@task(name="commit-refresh-records")
def commit_refresh_records(stages: list[str], push: bool, base: str | None = None) -> bool:
    """No new version, but the crawl still recorded new rejects and stats (dvc.lock's crawl entry):
    push them and commit those stages, so the checkout is left clean and the commit restorable."""
    root = Path.cwd()
    if not versions.stages_changed(root, stages):
        return False
    if push:
        push_with_deps(stages)
    return versions.commit_pipeline_state(
        root, "Dataset refresh: crawl records only, no new version", stages, require_remote=push, base=base
    )


@task(name="trigger-training")
def trigger_training(models: list[str], deployment_pattern: str, tag: str) -> list[str]:
    """Start each model's training deployment without waiting; return the flow run ids."""
    logger = get_run_logger()
    run_ids = []
    for model in models:
        name = deployment_pattern.format(model=model)
        run = run_deployment(name, parameters={"model": model}, timeout=0, as_subflow=False, tags=[tag])
        logger.info("started %s: flow run %s", name, run.id)
        run_ids.append(str(run.id))
    return run_ids


def configured_sites(params: config.Params) -> list[str]:
    """The enabled sites of `crawl.sites` in params.yaml (the crawl stage's own list)."""
    return site_checks.requested_sites(params, None)


@task(name="rebuild-report")
def rebuild_report(push: bool, base: str | None = None) -> str:
    """`dvc repro --single-item report` on the new dataset with the trained models this checkout has,
    then commit the report stage alone; a line saying what happened (skipped when a model the report
    reads is not here, e.g. still training)."""
    root = Path.cwd()
    if "report" not in dag.stages(root):
        return "no report stage in dvc.yaml"
    missing = dag.missing_deps(root, "report")
    if missing:
        return f"not rebuilt: this checkout lacks {', '.join(missing[:3])}" + (
            " …" if len(missing) > 3 else ""
        )
    run_logged(commands.dvc("--wait-for-lock", "repro", "--single-item", "report"))
    if push:
        push_with_deps(["report"])
    versions.commit_pipeline_state(
        root, "Report after the dataset refresh", ["report"], require_remote=push, base=base
    )
    return "rebuilt"


def summary_markdown(summary: dict, report: Path) -> str:
    """The refresh's artifact: what changed, and where the report is."""
    version = summary["version"]
    lines = [
        "# Dataset refresh",
        "",
        f"- **dataset version**: {version} (commit `{summary['commit'][:10]}`)"
        if version
        else "- **dataset version**: unchanged, no new version",
        f"- **kept images**: {summary['kept']} (previous version {summary['previous'] or 'none'})",
        f"- **stages rerun by DVC**: {', '.join(summary['ran']) or 'none (nothing new)'}",
        f"- **training runs started**: {', '.join(summary['training_runs']) or 'none'}",
        f"- **sites that failed**: {', '.join(summary['failed_sites']) or 'none'}",
        f"- **report**: [{report}]({report.as_uri()}) ({summary['report']})",
    ]
    return "\n".join(lines)


def notify_failure(flow, flow_run, state) -> None:
    """on_failure/on_crashed hook: say loudly that the refresh failed, and tell the operator through
    a Prefect notification block when the worker names one (ADGEN_FAILURE_NOTIFY=<block-type>/<name>,
    e.g. slack-webhook/adgen-failures): a failed weekly refresh must not go unnoticed."""
    import os

    from prefect.logging.loggers import flow_run_logger

    message = f"{flow.name}: flow run {flow_run.name} ended {state.type.value}: {state.message}"
    flow_run_logger(flow_run, flow).error(message)
    block = os.environ.get("ADGEN_FAILURE_NOTIFY")
    if block:
        from prefect.blocks.core import Block

        Block.load(block).notify(body=message, subject=f"AdGen: {flow.name} failed")


@flow(
    name="refresh-dataset",
    log_prints=True,
    task_runner=StoppableTaskRunner(),
    on_failure=[notify_failure],
    on_crashed=[notify_failure],
)
def refresh_dataset(sites: list[str] | None = None, trigger: bool = True) -> dict:
    """Crawl → dataset stages (dvc repro) → dataset version → report → training trigger on growth.

    Args:
        sites: the sites to crawl (names in crawl.sites of params.yaml); none crawls every enabled one
        trigger: start the training deployments when the kept set grew past orchestrate.retrain_growth
    """
    with stop_on_signals():
        return _refresh(sites, trigger)


def _refresh(requested: list[str] | None, trigger: bool) -> dict:
    logger = get_run_logger()
    root = Path.cwd()
    params = config.load(root / "params.yaml")
    opts = params.orchestrate
    stages = dag.dataset_stages(root)
    if not stages:
        raise RuntimeError(f"{root}/dvc.yaml has none of the dataset stages {dag.DATASET_STAGES}")
    previous = versions.latest_version(root, opts.dataset_tag_prefix)
    base = versions.head(root)  # a run clone publishes its commits from here (adgen/orchestrate/runclone.py)

    failed: list[str] = []
    if "crawl" in stages:
        names = site_checks.requested_sites(params, requested)  # a typo fails here, before any limit/retry
        ensure_site_limits(names, opts.crawl_site_concurrency)
        crawl = crawl_site.with_options(
            retries=opts.crawl_retries,
            retry_delay_seconds=exponential_backoff(backoff_factor=opts.crawl_retry_delay_s)(
                opts.crawl_retries
            )
            if opts.crawl_retries
            else 0,
        )
        futures = {site: crawl.submit(site, opts.crawl_timeout_s) for site in names}
        for site, future in futures.items():
            future.wait()
            if not future.state.is_completed():
                logger.error("crawl of %s failed: %s", site, future.state.message)
                failed.append(site)
        if len(failed) == len(names):  # nothing was crawled: nothing to version
            raise RuntimeError(f"crawl failed for every site: {', '.join(failed)}")
        commit_crawl()

    if "filter" in stages and opts.filter_shards > 1:
        from flows.filter_shards import run_filter_shards

        run_filter_shards(opts.filter_shards, root, opts.dask_address)
        commit_filter()

    ran = dag.ran_stages(dvc_repro(stages))
    version = record_version(stages, opts.dataset_tag_prefix, opts.push, base)
    if version is None:
        commit_refresh_records(stages, opts.push, base)
    report = rebuild_report(opts.push, base) if version is not None else "unchanged (no new version)"
    triggered: list[str] = []
    if trigger and versions.should_retrain(previous, version, opts.retrain_growth):
        triggered = trigger_training(list(opts.retrain_models), opts.train_deployment, version.tag)
    summary = {
        "stages": stages,
        "version": version.tag if version else None,
        "kept": version.kept if version else (previous.kept if previous else None),
        "previous": previous.tag if previous else None,
        "training_runs": triggered,
        "failed_sites": failed,
        "ran": ran,
        "commit": version.commit if version else "",
        "report": report,
    }
    create_markdown_artifact(
        key="dataset-refresh",
        markdown=summary_markdown(summary, params.path(params.paths.report) / "index.html"),
        description="What this dataset refresh did",
    )
    if failed:
        raise RuntimeError(f"crawl failed for {', '.join(failed)} (the other sites' data was versioned)")
    return summary


if __name__ == "__main__":
    refresh_dataset()
