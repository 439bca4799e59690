"""One declaration per model: everything the rest of the project needs to know about a generator.

Each model package `adgen/models/<name>/` holds a `spec.py` with `SPEC = ModelSpec(...)`. The CLI
(`adgen train NAME`, `adgen sample NAME`, `--dry-run`), the `train.<name>` params section, the report's
model panels and the DVC/Prefect consistency test are all derived from these declarations, so adding
a model is one folder and touches no core file.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adgen.models.roles import Compositor, PeopleGenerator, PoseControlledGenerator, PoseTransfer, Role


@dataclass(frozen=True)
class TrainJob:
    """What a model's train entry gets: options resolved, run dir chosen, outputs located."""

    params: Any  # the whole validated Params (paths, metrics weights, datasets)
    options: Any  # train.<name>: the preset applied, path options resolved against the project root
    run_dir: Path
    metrics_dir: Path


@dataclass(frozen=True)
class ModelSpec:
    """A model as the project sees it. Names derive from `name`: CLI `adgen train <name>`, params
    `train.<name>`, DVC stage `train_<name>`, Prefect deployment `train-<name>/gpu`, metrics
    `<paths.metrics>/<name>.json` and `<name>_loss.csv`."""

    name: str
    summary: str  # one line: --help and the report panel's heading
    params_section: type  # the pydantic Section class of train.<name>; it has a `preset` field
    presets: Mapping[str, Mapping[str, Any]]  # preset name -> values (params.yaml keys win over them)
    networks: Callable[[Any], Mapping[str, Any]]  # options -> {"G": module, ...}, for --dry-run counts
    train: Callable[[TrainJob], Any]  # trains or resumes; returns an object with `.checkpoint`
    run_name: Callable[[Any], str]  # options -> run dir description, e.g. "dcgan-64x64-demo"
    loss_columns: tuple[str, ...]  # columns of <name>_loss.csv: DVC plots and the report's curves
    path_options: tuple[str, ...] = ()  # option keys holding paths, resolved against the project root
    preflight: Callable[[TrainJob], None] | None = None  # one-line UserError before a run dir exists
    sample_command: Callable[..., None] | None = None  # typer command: `adgen sample <name>`
    extra_commands: Callable[[Any], None] | None = None  # register(groups) for model-specific commands
    sample_globs: tuple[str, ...] = ("samples/*.png", "*.png")  # report: newest match = sample grid
    phase_column: str | None = None  # a stats column marking phases (report markers), e.g. "stage"
    extras: Mapping[str, Any] = field(default_factory=dict)
    # Added after the first contract (optional, so earlier declarations stay valid):
    title: str = ""  # how people write the name ("ST-GAN"): messages and the report; default `name`
    retrain_on_refresh: bool = False  # trains on the curated dataset: in orchestrate.retrain_models' default
    role: Role | None = None  # what it is to generate/compare/report, and its loader (adgen.models.roles)
    pose_gate: str | None = None  # train.<name> option: the keypoints a training person needs (report)

    @property
    def label(self) -> str:
        return self.title or self.name


def _discover() -> dict[str, ModelSpec]:
    import adgen.models as pkg

    found: dict[str, ModelSpec] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"adgen.models.{info.name}.spec")
        except ModuleNotFoundError as exc:
            if exc.name == f"adgen.models.{info.name}.spec":
                continue
            raise
        spec = module.SPEC
        if spec.name != info.name:
            raise RuntimeError(f"adgen/models/{info.name}/spec.py declares name {spec.name!r}")
        found[spec.name] = spec
    _check_roles(found)
    return found


SAFE_ID = re.compile(r"[a-z0-9]+")  # approach ids and chained model names: folder names, no separator


def _check_roles(found: dict[str, ModelSpec]) -> None:
    """A declaration error is the model author's bug: say which spec and what, at discovery."""
    ids: dict[str, str] = {}
    for spec in found.values():
        role = spec.role
        if isinstance(role, PeopleGenerator | PoseTransfer) and not SAFE_ID.fullmatch(spec.name):
            raise RuntimeError(
                f"adgen/models/{spec.name}/spec.py: a {role.title}'s name must be [a-z0-9]+ "
                f"(it forms the chain ids <people>-<transfer> and their approach-<id> folders)"
            )
        if isinstance(role, PoseTransfer):
            source = found.get(role.people_from)
            if source is None or not isinstance(source.role, PeopleGenerator):
                raise RuntimeError(
                    f"adgen/models/{spec.name}/spec.py: people_from {role.people_from!r} is no declared people generator"
                )
        if isinstance(role, PoseControlledGenerator | PoseTransfer):
            if not SAFE_ID.fullmatch(role.approach) or role.approach == "best" or role.approach in ids:
                raise RuntimeError(
                    f"adgen/models/{spec.name}/spec.py: approach {role.approach!r} must be unique, set, "
                    "[a-z0-9]+ and not 'best'"
                    + (f" (also {ids[role.approach]}'s)" if role.approach in ids else "")
                )
            ids[role.approach] = spec.name


_MODELS: dict[str, ModelSpec] | None = None


def models() -> dict[str, ModelSpec]:
    """Every declared model, by name (sorted), discovered once from `adgen/models/*/spec.py`."""
    global _MODELS
    if _MODELS is None:
        _MODELS = _discover()
    return _MODELS


def get(name: str) -> ModelSpec:
    from adgen.errors import UserError

    found = models()
    if name not in found:
        raise UserError(f"unknown model {name!r}; choose one of: {', '.join(found)}")
    return found[name]


# -- the models by role (adgen.models.roles) -----------------------------------------------------------
def with_role(role: type[Role]) -> dict[str, ModelSpec]:
    """The declared models of a role (`roles.PeopleGenerator`, `roles.Compositor`, ...), by name."""
    return {name: spec for name, spec in models().items() if isinstance(spec.role, role)}


@dataclass(frozen=True)
class Approach:
    """One way `adgen generate` makes a new person in a requested pose: a pose-controlled generator
    alone, or a people generator followed by the pose transfer that re-poses its people. A declared
    approach (its model's `role.approach`: "1", "2", ...) is a named shortcut; every other people
    generator × pose transfer pair is a combined chain with the id `<people>-<transfer>`."""

    id: str  # `--approach <id>`, the `approach-<id>` folders
    chain: tuple[ModelSpec, ...]  # the models in the order they run
    declared: bool = True  # False: a combined chain no declaration names

    @property
    def label(self) -> str:
        """ "StyleGAN2 → GFLA", "DPIG"."""
        return " → ".join(spec.label for spec in self.chain)

    @property
    def pose_controlled(self) -> bool:
        """True when one network draws the person in the pose (no pose transfer step)."""
        return len(self.chain) == 1

    @property
    def key(self) -> str:
        """Its key in compare.json: `approach<id>` for a declared approach (as written before),
        `<people>_<transfer>` (e.g. `dcgan_gfla`) for a combined chain."""
        return f"approach{self.id}" if self.declared else "_".join(spec.name for spec in self.chain)


def approaches() -> dict[str, Approach]:
    """Every approach the declarations make, by id (sorted)."""
    found = {}
    for spec in models().values():
        role = spec.role
        if isinstance(role, PoseControlledGenerator):
            found[role.approach] = Approach(role.approach, (spec,))
        elif isinstance(role, PoseTransfer):
            found[role.approach] = Approach(role.approach, (models()[role.people_from], spec))
    return dict(sorted(found.items()))


def chain_id(people: ModelSpec, transfer: ModelSpec) -> str:
    """The id of `people` → `transfer`: the declared approach making that pair, else `<people>-<transfer>`."""
    for approach in approaches().values():
        if tuple(spec.name for spec in approach.chain) == (people.name, transfer.name):
            return approach.id
    combined = f"{people.name}-{transfer.name}"
    if not all(SAFE_ID.fullmatch(name) for name in (people.name, transfer.name)):  # _check_roles' promise
        raise RuntimeError(f"chain id {combined!r} is not filesystem-safe")
    return combined


def chains() -> dict[str, Approach]:
    """Every chain `adgen generate`, `adgen evaluate compare` and `best` can run: the declared
    approaches (by id), then every people generator × pose transfer pair no declaration makes (by
    id, `<people>-<transfer>`), all derived from the roles."""
    found = dict(approaches())
    transfers = with_role(PoseTransfer)
    combined = {}
    for people in with_role(PeopleGenerator).values():
        for transfer in transfers.values():
            cid = chain_id(people, transfer)
            if cid not in found:
                combined[cid] = Approach(cid, (people, transfer), declared=False)
    return {**found, **dict(sorted(combined.items()))}


def checkpoint_of(spec: ModelSpec, params: Any, given: Path | None = None, section: str = "generate") -> Path:
    """The checkpoint file a command uses for `spec`'s model: `given` (its --checkpoint option), else
    `<section>.checkpoints.<name>`, else the newest run under paths.models/<name> (one line if none)."""
    if spec.role is None:
        raise TypeError(f"{spec.name} declares no role: nothing loads it outside its own commands")
    configured = getattr(params, section).checkpoints.get(spec.name)
    explicit = given if given is not None else (params.path(configured) if configured is not None else None)
    setting = "--checkpoint" if given is not None else f"{section}.{spec.name}_checkpoint"
    return spec.role.checkpoint(explicit, params.path(params.paths.models), setting)


# -- what the rest of the project derives from the declarations -------------------------------------------
def train_params_type() -> type:
    """The `train` section: one `train.<name>` field per declared model, each its own Section."""
    from pydantic import Field, create_model

    from adgen.config.base import Section

    fields = {
        name: (spec.params_section, Field(default_factory=spec.params_section))
        for name, spec in models().items()
    }
    return create_model(
        "TrainParams", __base__=Section, __doc__="train.<model>.* params.", __module__=__name__, **fields
    )


def extend_params(base: type) -> type:
    """`base` (the core Params) with the `train` section, and `orchestrate.retrain_models` checked
    against the declared models. Plugged into adgen.config by the composition root (adgen/__init__.py)."""
    from pydantic import Field, create_model, model_validator

    train_type = train_params_type()
    orchestrate_base = base.model_fields["orchestrate"].annotation
    retrain = [name for name, spec in models().items() if spec.retrain_on_refresh]
    orchestrate_type = create_model(
        "OrchestrateParams",
        __base__=orchestrate_base,
        __doc__=orchestrate_base.__doc__,
        __module__=__name__,
        retrain_models=(list[str], Field(default_factory=lambda: list(retrain))),
    )

    def _retrain_models_are_declared(self):
        unknown = [m for m in self.orchestrate.retrain_models if m not in models()]
        if unknown:
            raise ValueError(
                f"orchestrate.retrain_models: unknown model {unknown[0]!r}; choose from {', '.join(models())}"
            )
        return self

    return create_model(
        "Params",
        __base__=base,
        __doc__=base.__doc__,
        __module__=__name__,
        __validators__={
            "_old_checkpoint_keys": model_validator(mode="before")(_checkpoints_from_old_keys),
            "_retrain_models": model_validator(mode="after")(_retrain_models_are_declared),
            "_declared_choices": model_validator(mode="after")(_choices_are_declared),
        },
        train=(train_type, Field(default_factory=train_type)),
        orchestrate=(orchestrate_type, Field(default_factory=orchestrate_type)),
    )


CHECKPOINT_SECTIONS = ("generate", "compare")  # sections holding `checkpoints: {<model>: path}`


def _checkpoints_from_old_keys(cls, data: Any) -> Any:
    """`generate.<model>_checkpoint: path` (the spelling params.yaml, the presets and users' files
    have) read into `generate.checkpoints.<model>`, for every declared model; same for compare."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    for section in CHECKPOINT_SECTIONS:
        given = data.get(section)
        if not isinstance(given, dict) or not any(f"{m}_checkpoint" in given for m in models()):
            continue
        given = dict(given)
        mapping = given.get("checkpoints") or {}
        if not isinstance(mapping, dict):
            continue  # the section's own check says what is wrong with it
        mapping = dict(mapping)
        for name in models():
            key = f"{name}_checkpoint"
            if key not in given:
                continue
            value = given.pop(key)
            if value is None:
                continue
            if mapping.get(name) is not None:
                raise ValueError(f"{section}.{key} and {section}.checkpoints.{name} are both set; keep one")
            mapping[name] = value
        given["checkpoints"] = mapping
        data[section] = given
    return data


def _choices_are_declared(self):
    """Checkpoint names, the approach and the compositor name declared models (one line otherwise)."""
    for section in CHECKPOINT_SECTIONS:
        unknown = [m for m in getattr(self, section).checkpoints if m not in models()]
        if unknown:
            raise ValueError(
                f"{section}.checkpoints: unknown model {unknown[0]!r}; choose from {', '.join(models())}"
            )
    ids = list(chains())
    if self.generate.approach not in (*ids, "best"):
        raise ValueError(
            f"generate.approach: must be {', '.join(ids)} or best (got {self.generate.approach!r})"
        )
    compositors = with_role(Compositor)
    if self.generate.compositor not in compositors:
        raise ValueError(
            f"generate.compositor: must be one of {', '.join(compositors)} (got {self.generate.compositor!r})"
        )
    return self


def __getattr__(name: str):
    """`Params`, `TrainParams` and `OrchestrateParams`, the classes made above, found by name
    (pickle looks them up so)."""
    if name in ("Params", "TrainParams", "OrchestrateParams"):
        from adgen.config import params_type

        cls = params_type()
        section = {"TrainParams": "train", "OrchestrateParams": "orchestrate"}.get(name)
        return cls if section is None else cls.model_fields[section].annotation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def resolve_options(spec: ModelSpec, params: Any, preset: str | None = None) -> Any:
    """train.<name> with its preset applied (`preset` overrides `train.<name>.preset`) and every
    `spec.path_options` key resolved against the project root: what a run of this model uses."""
    options = with_preset(getattr(params.train, spec.name), preset)
    update = {
        k: params.path(getattr(options, k)) for k in spec.path_options if getattr(options, k) is not None
    }
    return options.model_copy(update=update) if update else options


def with_preset(options: Any, preset: str | None = None) -> Any:
    """A model's options (its `train.<name>` section) with its preset applied: the preset's values
    overlaid by every key set explicitly in `options`; `preset` overrides `options.preset`."""
    from adgen.config.base import apply_preset

    spec = next((s for s in models().values() if isinstance(options, s.params_section)), None)
    if spec is None:
        raise TypeError(f"{type(options).__name__} is no declared model's params section")
    return apply_preset(options, dict(spec.presets), preset, spec.label)
