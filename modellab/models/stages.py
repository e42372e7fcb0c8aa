"""Models made of registered models: a cascade names its stage models in its options, and this base
class instantiates them (cheaply, nothing loaded), checks each is of the kind its stage needs, sets
the stage options the cascade's config gives, and loads each once per process (shared with other runs)."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import fields, is_dataclass
from typing import Any

from modellab.models.base import Model

__all__ = ["StageSpec", "StagedModel", "set_stage_options"]

# stage -> (conf/model name, the model class(es) it must be an instance of, options to set on it)
StageSpec = tuple[str, type[Model] | tuple[type[Model], ...], dict[str, Any]]


def set_stage_options(model: Model, values: dict[str, Any], where: str) -> None:
    """Set ``values`` on a stage model's options; an option it does not have is refused, naming ``where``."""
    names = {f.name for f in fields(model.options)} if is_dataclass(model.options) else set()
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"{where}: model '{model.name}' has no options {unknown} (conf/model/{model.name}.yaml)")
    for key, value in values.items():
        setattr(model.options, key, value)


class StagedModel(Model):
    """A model whose work is done by registered stage models (see :meth:`wanted_stages`)."""

    stage: dict[str, Model]

    @abstractmethod
    def wanted_stages(self) -> dict[str, StageSpec]:
        """Each stage's model name, required class(es) and the options to set on it."""

    def _stages(self) -> dict[str, Model]:
        """Instantiate (cheaply, nothing loaded) the stage models named in the options."""
        if getattr(self, "_stage_models", None) is None:
            from modellab.models.compose import load_registered

            stages: dict[str, Model] = {}
            for stage, (name, kind, values) in self.wanted_stages().items():
                model = load_registered("model", name)
                if not isinstance(model, kind):
                    raise TypeError(
                        f"conf/model/{self.name}.yaml options.{stage}: '{name}' is a {type(model).__name__}, "
                        f"which cannot be the {stage} stage"
                    )
                if values:
                    set_stage_options(model, values, f"conf/model/{self.name}.yaml options.{stage}_options")
                stages[stage] = model
            self._stage_models = stages
        return self._stage_models

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["stages"] = {stage: model.identity() for stage, model in self._stages().items()}
        return ident

    def check_requirements(self) -> None:
        super().check_requirements()
        for model in self._stages().values():
            model.check_requirements()

    def load(self) -> None:
        from modellab.models.compose import load_set_up

        self.stage = {name: load_set_up(model, self.device) for name, model in self._stages().items()}
