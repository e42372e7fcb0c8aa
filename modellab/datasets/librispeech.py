"""The LibriSpeech folder layout: ``<speaker>/<chapter>/<speaker>-<chapter>.trans.txt`` beside the audio.

``root`` is one split (e.g. ``LibriSpeech/test-clean``). Each ``.trans.txt`` line is
``<speaker>-<chapter>-<utterance> TRANSCRIPT``; the audio is ``<utterance id>.<audio_ext>`` in the
same folder. Transcripts are kept as written (upper case, no punctuation): normalisers apply at
scoring time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from modellab.datasets.base import Dataset, DatasetError, resolve_inside
from modellab.datasets.formats import audio_duration, read_keyed_lines
from modellab.types import Sample

__all__ = ["LibriSpeechDataset", "LibriSpeechOptions"]


@dataclass
class LibriSpeechOptions:
    audio_ext: str  # extension of the audio beside each .trans.txt ("flac" in the release)


class LibriSpeechDataset(Dataset):
    """One LibriSpeech split; sample ids are the utterance ids, speakers the speaker folders."""

    Options = LibriSpeechOptions
    FIELDS: ClassVar[tuple[str, ...]] = ("sample_id", "audio", "text", "speaker", "duration")

    def is_built(self) -> bool:
        return self.root.is_dir() and next(self.root.rglob("*.trans.txt"), None) is not None

    def read_samples(self) -> list[Sample]:
        transcripts = sorted(self.root.rglob("*.trans.txt"))
        if not transcripts:
            raise DatasetError(f"dataset '{self.name}': no *.trans.txt under {self.root}")
        samples = []
        for trans in transcripts:
            chapter_id = trans.name.removesuffix(".trans.txt")
            speaker = chapter_id.split("-")[0]
            for utt, (lineno, fields) in read_keyed_lines(trans, min_fields=1, max_fields=2).items():
                where = f"{trans}:{lineno}"
                if not utt.startswith(chapter_id + "-"):
                    raise DatasetError(f"{where}: utterance '{utt}' does not belong to chapter '{chapter_id}'")
                relative = str((trans.parent / f"{utt}.{self.options.audio_ext}").relative_to(self.root))
                audio = resolve_inside(self.root, relative, where)
                if not audio.is_file():
                    raise DatasetError(f"{where}: audio file {audio} not found")
                samples.append(
                    Sample(
                        sample_id=utt,
                        audio_path=str(audio),
                        text=fields[0] if fields else "",
                        duration_s=audio_duration(audio),
                        speaker=speaker,
                        language=self.language,
                    )
                )
        return samples
