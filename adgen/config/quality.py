"""metrics.*, generate.* and report.* params."""

from adgen.config.base import Section


class MetricsParams(Section):
    pass


class GenerateParams(Section):
    pass


class ReportParams(Section):
    pass
