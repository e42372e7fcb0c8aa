"""TTS scoring on hand-made records (hand-computed speaking rate, round-trip WER/CER, TTFA), the
streaming/non-streaming synthesis call, and the committed prompt sets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from modellab.config.registry import load_component
from modellab.datasets.base import DatasetError
from modellab.datasets.builders.prompts import build as build_prompts
from modellab.datasets.prompts import PromptDataset, read_prompts
from modellab.models.base import TTSModel
from modellab.tasks.base import SampleRecord
from modellab.tasks.tts import synthesize
from modellab.types import Audio, Sample

REPO = Path(__file__).resolve().parents[1]


def _health(speech_s: float, trailing: float = 0.1) -> dict:
    return {
        "duration_s": speech_s + 0.1 + trailing,
        "n_samples": 1000,
        "non_finite": 0,
        "peak": 0.9,
        "clipping_ratio": 0.0,
        "dc_offset": 0.0,
        "lufs": -20.0,
        "leading_silence_s": 0.1,
        "trailing_silence_s": trailing,
        "max_internal_silence_s": 0.2,
        "speech_s": speech_s,
    }


def _record(sample_id: str, text: str, speech_s: float, first: float | None, trailing: float = 0.1) -> SampleRecord:
    output = {"duration_s": speech_s + 0.2, "sample_rate": 16000, "chunks": 1, "first_audio_s": first}
    output["health"] = _health(speech_s, trailing)
    return SampleRecord(Sample(sample_id, text=text), output, compute_s=0.5, artifact=f"/x/{sample_id}.wav")


def test_tts_scores_by_hand() -> None:
    task = load_component("task", "tts")
    heard = {"/x/a.wav": "red green blew black", "/x/b.wav": "cats run fast"}
    task.transcribe_artifact = heard.__getitem__  # a stand-in for the ASR model
    records = [
        _record("a", "red green blue black", speech_s=2.0, first=0.1),
        _record("b", "cats run", speech_s=0.5, first=0.3, trailing=0.9),  # trailing silence > 0.75 s
        SampleRecord(Sample("c", text="never made"), error="boom"),
    ]
    scores = task.score(records, "golden")
    m = {x.name: x.value for x in scores.metrics}
    # WER: 1 substitution of 4 words + 1 insertion over 2 words, pooled = 2 / 6.
    assert m["wer"] == pytest.approx(2 / 6)
    # CER (spaces included): blue->blew is 2 edits of 20 chars, " fast" is 5 insertions over 8 chars.
    assert m["cer"] == pytest.approx(7 / 28)
    assert m["speaking_rate_wps"] == pytest.approx((4 + 2) / (2.0 + 0.5))
    assert m["time_to_first_audio_s"] == pytest.approx(0.2)
    assert m["time_to_first_audio_max_s"] == pytest.approx(0.3)
    assert m["gate_pass_rate"] == pytest.approx(0.5)
    assert m["empty_output_rate"] == 0.0
    assert m["synthesis_s_mean"] == pytest.approx(0.5)
    rows = scores.samples
    assert rows[0]["speaking_rate_wps"] == pytest.approx(2.0) and rows[0]["wer"] == pytest.approx(0.25)
    assert rows[1]["gate_trailing_silence"] is False and rows[1]["gates_passed"] is False
    assert rows[2]["hypothesis"] is None and "wer" not in rows[2]


def test_round_trip_off_reports_no_wer() -> None:
    task = load_component("task", "tts", ["task.options.intelligibility.asr_model=null"])
    scores = task.score([_record("a", "red green", 1.0, None)], "smoke")
    names = {x.name for x in scores.metrics}
    assert "wer" not in names and "time_to_first_audio_s" not in names
    assert scores.samples[0]["hypothesis"] is None


def test_primary_normalizer_must_be_listed() -> None:
    with pytest.raises(ValueError, match="primary_normalizer"):
        load_component("task", "tts", ["task.options.intelligibility.primary_normalizer=none"])


class _Streaming(TTSModel):
    def load(self) -> None: ...

    def stream(self, text: str) -> Iterator[Audio]:
        for _word in text.split():
            yield Audio(np.full(100, 0.5, dtype=np.float32), 8000)

    def predict(self, inputs: str) -> Audio:
        return Audio(np.concatenate([c.samples for c in self.stream(inputs)]), 8000)


def test_streaming_models_get_time_to_first_audio() -> None:
    model = _Streaming(name="fake", info={"family": "fake", "capabilities": ["tts"], "license": "MIT"})
    streamed = synthesize(model, "one two three", streaming=True)
    assert streamed.chunks == 3 and streamed.audio.samples.size == 300 and streamed.audio.sample_rate == 8000
    assert streamed.first_audio_s is not None and streamed.first_audio_s >= 0
    whole = synthesize(model, "one two three", streaming=False)
    assert whole.first_audio_s is None and whole.chunks == 1
    np.testing.assert_array_equal(whole.audio.samples, streamed.audio.samples)


def test_committed_prompts_cover_every_category() -> None:
    rows = read_prompts(REPO / "data/sources/tts_prompts_v1.tsv")
    cats = {r["category"] for r in rows}
    assert {"numbers", "names", "abbreviations", "long", "punctuation", "plain"} <= cats
    assert len(rows) >= 25
    assert max(len(r["text"].split()) for r in rows if r["category"] == "long") >= 30


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("a\tb\tc\nx\ty\tz\n", "expected the header"),
        ("id\tcategory\ttext\np1\tplain\n", ":2: expected 3 non-empty"),
        ("id\tcategory\ttext\np1\tplain\tHi.\np1\tplain\tAgain.\n", ":3: duplicate prompt id 'p1'"),
        ("# only a comment\nid\tcategory\ttext\n", "no prompts"),
    ],
)
def test_bad_prompt_files_name_the_file_and_line(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "prompts.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=problem) as err:
        read_prompts(path)
    assert str(path) in str(err.value)


def test_prompt_builder_selects_ids_in_order(tmp_path: Path) -> None:
    src = REPO / "data/sources/tts_prompts_v1.tsv"
    build_prompts(tmp_path / "set", prompts=str(src), ids=["names-01", "plain-04"])
    ds = PromptDataset(name="t", root=str(tmp_path / "set"), manifest="manifest.jsonl", tasks=["tts"])
    samples = ds.samples()
    assert [s.sample_id for s in samples] == ["names-01", "plain-04"]
    assert samples[1].text == "Hello." and samples[1].audio_path is None
    assert samples[0].extra["category"] == "names"
    with pytest.raises(DatasetError, match="unknown prompt ids \\['nope'\\]"):
        build_prompts(tmp_path / "bad", prompts=str(src), ids=["nope"])


def test_tts_datasets_compose_and_default() -> None:
    smoke = load_component("dataset", "tts_smoke_v1")
    assert [s.sample_id for s in smoke.samples()] == ["plain-04", "plain-01", "numbers-01", "names-01"]
    golden = load_component("dataset", "tts_golden_v1")
    assert len(golden.samples()) == len(read_prompts(REPO / "data/sources/tts_prompts_v1.tsv"))
    from modellab.config.registry import compose_config

    assert compose_config(["+model=piper", "task=tts"]).dataset.name == "tts_golden_v1"
    assert compose_config(["+model=cascade_whisper_espeak", "task=v2v"]).dataset.name == "v2v_smoke_v1"
