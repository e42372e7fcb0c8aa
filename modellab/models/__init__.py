"""Model adapters: one small class per library, one YAML per model in conf/model/."""

from modellab.models.base import (
    ASRModel,
    DiarizationModel,
    MissingExtraError,
    Model,
    TranslationModel,
    TTSModel,
    VADModel,
)

__all__ = ["ASRModel", "DiarizationModel", "MissingExtraError", "Model", "TTSModel", "TranslationModel", "VADModel"]
