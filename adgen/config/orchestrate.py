"""orchestrate.* params: how Prefect runs the pipeline (retries, per-site limits, dataset versions,
when a refresh triggers training). Nothing here changes what a stage computes, so DVC does not
track this section as a stage parameter.
"""

from __future__ import annotations

from pydantic import Field

from adgen.config.base import Section

# A declared model (adgen/models/<name>/spec.py); checked against the registry when params load.
ModelName = str


class OrchestrateParams(Section):
    # Crawl: one Prefect task (one Scrapy subprocess) per site.
    crawl_retries: int = Field(3, ge=0)
    crawl_retry_delay_s: float = Field(60.0, ge=0)  # first retry; doubles on each further retry
    crawl_site_concurrency: int = Field(1, ge=1)  # crawls of one site at a time across all flows
    crawl_timeout_s: float = Field(6 * 3600, gt=0)

    # Scale-out: decide the filter in this many shards on a Dask cluster (prefect-dask); 0/1 = no.
    filter_shards: int = Field(0, ge=0)
    dask_address: str | None = None  # e.g. tcp://scheduler:8786; None: a local cluster, one worker per shard

    # Dataset versions: `dvc push` + a git commit of dvc.lock + an annotated tag `<prefix>YYYY-MM-DD`.
    dataset_tag_prefix: str = "dataset-"
    push: bool = True  # push the new version to the default DVC remote

    # Training: a failed or killed training attempt (not a refused one: bad params, missing data) is
    # retried this many times, each retry resuming from the run dir's newest valid checkpoint.
    train_retries: int = Field(2, ge=0, le=100)
    train_retry_delay_s: float = Field(30.0, ge=0)

    # Training trigger: when the kept set grew by more than this fraction since the last version
    # (any growth from an empty set counts), run these training deployments without waiting.
    retrain_growth: float = Field(0.10, ge=0)
    # Default: every declared model whose spec says `retrain_on_refresh` (set by registry.extend_params).
    retrain_models: list[ModelName] = Field(default_factory=list)
    train_deployment: str = "train-{model}/gpu"  # {model} is replaced by the model name
