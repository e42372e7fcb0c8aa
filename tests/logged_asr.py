"""A test adapter: the dummy ASR model that also logs every call (which audio, which model, which
process) to the file named by ``MODELLAB_TEST_CALL_LOG``, so tests can tell what was recomputed."""

from __future__ import annotations

import hashlib
import json
import os

from modellab.models.dummy import ConstantASR
from modellab.types import Audio, Transcript

__all__ = ["LoggedASR", "audio_signature"]


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
