"""AdGen: stock photos to generated ads (crawl, filter, strip, pose, datasets, GANs).

This file is the composition root of the params: the core (adgen.config) knows no model, and each
model declares its `train.<name>` section in adgen/models/<name>/spec.py. Here the two are joined,
once, before any params file is read: `config.extend` receives the registry's extension, which
imports the declarations only when params are first validated.
"""

from adgen import quiet as _quiet

_quiet.install()  # before any TensorFlow import: its start-up chatter off unless the user asks for it

from adgen import config as _config  # noqa: E402


def _with_model_sections(base):
    from adgen.models.registry import extend_params

    return extend_params(base)


_config.extend(_with_model_sections)
