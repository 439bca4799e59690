"""orchestrate.* params (Prefect flows, dataset versions, training triggers)."""

from adgen.config.base import Section


class OrchestrateParams(Section):
    pass
