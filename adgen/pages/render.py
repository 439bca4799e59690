"""The pages' template engine: Jinja2 with autoescaping on, templates in adgen/report/templates/.

Every value from a manifest or a metrics file reaches the page through a template, so escaping is
never something a section has to remember; only fragments the templates themselves made are Markup.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup


def fmt(value: object) -> str:
    """Numbers as a reviewer reads them: floats to 4 significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("adgen.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    return env


def render(template: str, **context: Any) -> Markup:
    """`template` rendered with `context` (escaped), as Markup so it can be placed in another template."""
    return Markup(environment().get_template(template).render(**context))


def macro(name: str, *args: Any, **kwargs: Any) -> Markup:
    """One macro of templates/parts.html (table, figure, para), rendered on its own."""
    module = environment().get_template("parts.html").module
    return Markup(getattr(module, name)(*args, **kwargs))
