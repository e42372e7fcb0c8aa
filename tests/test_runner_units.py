"""The runner's own units: the resume journal, the per-process model cache, and the recorder's
speed metrics and settings columns (each checked against values worked out by hand)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from modellab.device import Device
from modellab.models import cache
from modellab.models.dummy import ConstantASR
from modellab.run.journal import Journal
from modellab.run.recorder import FinishedRun, MemoryProbe, config_hash, settings_columns, speed_metrics
from modellab.tasks.base import SampleRecord
from modellab.types import Sample


def _record(sample_id: str, **fields: object) -> SampleRecord:
    return SampleRecord(Sample(sample_id, f"/audio/{sample_id}.wav"), **fields)  # type: ignore[arg-type]


def test_journal_round_trip_skips_a_line_cut_by_a_kill(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal" / "cell.jsonl")
    assert journal.finished() == {}
    with journal:
        journal.write([_record("a", output={"text": "hi"}, compute_s=0.5, audio_s=2.0, level_dbfs=-20.0)])
        journal.write([_record("b", error="/audio/b.wav: ValueError: bad")])
    with journal.path.open("a") as fh:
        fh.write('{"sample_id": "c", "outp')  # killed mid-line
    done = journal.finished()
    assert sorted(done) == ["a", "b"]
    restored = Journal.restore(Sample("a"), done["a"])
    assert (restored.output, restored.compute_s, restored.audio_s, restored.level_dbfs) == (
        {"text": "hi"},
        0.5,
        2.0,
        -20.0,
    )
    assert Journal.restore(Sample("b"), done["b"]).error == "/audio/b.wav: ValueError: bad"
    journal.discard()
    assert not journal.path.exists()


def test_journal_refuses_a_write_outside_its_block(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="cell.jsonl"):
        Journal(tmp_path / "cell.jsonl").write([_record("a")])


def _constant(text: str) -> ConstantASR:
    return ConstantASR("constant", {"family": "test", "capabilities": ["asr"]}, options={"text": text, "delay_s": 0})


def test_a_model_loads_once_per_identity_and_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "_LOADED", {})
    device = Device()
    first, twin, other = _constant("one"), _constant("one"), _constant("two")
    adapter, _ = cache.load_once(first, device)
    assert adapter is first and first.loaded
    again, load_s = cache.load_once(twin, device)  # same identity: the loaded adapter, no load
    assert again is first and load_s == 0.0 and not twin.loaded
    assert cache.load_once(other, device)[0] is other  # other options: another adapter
    assert len(cache.loaded_models()) == 2


def test_speed_metrics_sum_the_samples_that_did_not_fail() -> None:
    memory = MemoryProbe()
    memory.rss_mb, memory.settled_mb = [100.0, 150.0, 120.0], [100.0, 110.0]
    records = [
        _record("a", compute_s=1.0, audio_s=4.0),
        _record("b", compute_s=3.0, audio_s=6.0),
        _record("c", compute_s=9.0, audio_s=9.0, error="x"),  # failed: not counted
    ]
    run = FinishedRun("r", "k", datetime.now(timezone.utc), "h", records, 2.5, False, memory)
    values = {m.name: m.value for m in speed_metrics(run)}
    # audio 4 + 6 = 10 s, compute 1 + 3 = 4 s: RTF 0.4, RTFx 2.5; peak 150 MB; growth 110 / 100
    assert values == pytest.approx(
        {
            "load_s": 2.5,
            "audio_s": 10.0,
            "compute_s": 4.0,
            "rtf": 0.4,
            "rtfx": 2.5,
            "peak_rss_mb": 150.0,
            "rss_growth": 1.1,
            "n_failed": 1.0,
        }
    )


def test_settings_columns_hold_the_config_its_hash_and_the_model_options() -> None:
    config = {"seed": 0, "model": {"name": "constant"}}
    columns = settings_columns(config, _constant("hello"))
    expected_hash = hashlib.sha256(b'{"model": {"name": "constant"}, "seed": 0}').hexdigest()[:16]
    assert columns == {
        "config": config,
        "config_hash": expected_hash,
        "model_params": {"text": "hello", "delay_s": 0.0},
    }
    assert config_hash({"seed": 0, "model": {"name": "constant"}}) == config_hash(
        {"model": {"name": "constant"}, "seed": 0}
    )


def test_the_warm_up_uses_at_most_ten_seconds_of_a_long_file() -> None:
    import numpy as np

    from modellab.run.runner import warm_up_slice
    from modellab.types import Audio

    long = Audio(np.arange(16000 * 25, dtype=np.float32), 16000)  # 25 s
    cut = warm_up_slice(long)
    assert len(cut.samples) == 160000 and cut.sample_rate == 16000  # 10 s x 16 kHz
    assert cut.samples[-1] == 159999.0  # the first ten seconds, not the last
    short = Audio(np.zeros(8000 * 9, dtype=np.float32), 8000)  # 9 s: left as it is
    assert warm_up_slice(short) is short
    assert warm_up_slice("a prompt") == "a prompt"  # TTS inputs are text
