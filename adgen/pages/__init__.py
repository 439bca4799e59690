"""The HTML pages AdGen writes, below every stage that writes one: the Jinja2 environment
(autoescaped) and the small fragments (tables, figures, a metrics pair read into a section).

`adgen generate`'s page and the report both render through here, so generate and compare never import
the report; the report sits at the top and imports their data functions. The templates themselves
stay in adgen/report/templates/ (the package data pyproject.toml declares).
"""
