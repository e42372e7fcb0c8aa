"""A test adapter: the dummy ASR model that also logs every call (which audio, which model, which
process) to the file named by ``MODELLAB_TEST_CALL_LOG``, so tests can tell what was recomputed."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from modellab.models.dummy import ConstantASR
from modellab.types import Audio, Transcript

__all__ = ["LoggedASR", "audio_signature", "write_model_config"]


def audio_signature(audio: Audio) -> str:
    return hashlib.sha1(audio.samples.tobytes()).hexdigest()[:16]


class LoggedASR(ConstantASR):
    def predict(self, inputs: Audio) -> Transcript:
        log = os.environ.get("MODELLAB_TEST_CALL_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as fh:
                line = {"pid": os.getpid(), "model": self.name, "audio": audio_signature(inputs)}
                fh.write(json.dumps(line) + "\n")
        return super().predict(inputs)


MODEL_YAML = """\
_target_: tests.logged_asr.LoggedASR
name: {name}
info:
  family: dummy
  capabilities: [asr]
  status: experimental
  devices: [cpu]
  license: MIT
  parameters: "0"
  extra: null
  requires: []
  description: The dummy ASR model, logging each call (tests only).
weights:
  source: none
options:
  text: {text}
  delay_s: {delay}
"""


def write_model_config(conf: Path, name: str, text: str = "ten of clubs", delay: float = 0.0) -> None:
    """A model config for LoggedASR under ``conf/model/``, for a ``hydra.searchpath`` directory."""
    (conf / "model").mkdir(parents=True, exist_ok=True)
    (conf / "model" / f"{name}.yaml").write_text(MODEL_YAML.format(name=name, text=text, delay=delay))
