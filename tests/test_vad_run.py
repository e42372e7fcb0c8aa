"""VAD end to end: real Silero / WebRTC / faster-whisper VAD runs on the exact synthetic set,
gates on the smoke set, option validation, and the frame smoothing of the WebRTC adapter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modellab.config.registry import load_component
from modellab.config.schema import ConfigError
from modellab.models.webrtc_vad import frames_to_segments
from modellab.results.views import connect


def test_frames_to_segments_hand_computed() -> None:
    # 10 ms frames: speech 10-19, pause 20-24 (50 ms, bridged), speech 25-39, blip 60-61 (dropped)
    frames = np.zeros(100, dtype=bool)
    frames[10:20] = frames[25:40] = frames[60:62] = True
    segs = frames_to_segments(frames, 0.01, 1.0, min_speech_s=0.05, min_silence_s=0.1, pad_s=0.02)
    assert [(round(s.start, 3), round(s.end, 3)) for s in segs] == [(0.08, 0.42)]


def test_webrtcvad_options_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"conf/model/webrtcvad.yaml options.aggressiveness"):
        load_component("model", "webrtcvad", ["model.options.aggressiveness=5"])
    with pytest.raises(ConfigError, match="frame_ms"):
        load_component("model", "webrtcvad", ["model.options.frame_ms=25"])


@pytest.mark.slow
def test_silero_on_exact_synthetic_regions(run_cell, results_dir) -> None:
    summary = run_cell("+model=silero_vad", "task=vad", "dataset=vad_golden_synth_v1")
    assert summary.status == "ok" and summary.n_samples == 16
    con = connect(results_dir)
    names = {r[0] for r in con.sql("SELECT name FROM metrics").fetchall()}
    expected = {"precision", "recall", "f1", "detection_error_rate", "boundary_error_s", "speech_ratio"}
    assert expected | {"n_segments", "ms_per_30ms_frame", "rtf", "rtfx", "gate_pass_rate"} <= names
    f1, deter, frame_s = con.sql("SELECT f1, detection_error_rate, vad_frame_s FROM runs").fetchall()[0]
    assert f1 > 0.85 and deter < 0.25 and frame_s == 0.01  # measured: F1 0.956, DetER 9.1 %
    rows = con.sql("SELECT sample_id, speech_ratio, gate_silence, artifact FROM samples").fetchall()
    for sample_id, ratio, gate, artifact in rows:
        assert Path(artifact).exists()
        if sample_id.startswith("nospeech"):  # silence, hiss and loud noise: nothing is speech
            assert ratio == 0.0 and gate is True
        else:
            assert gate is None and 0.3 < ratio < 0.9


@pytest.mark.slow
def test_webrtc_aggressiveness_is_a_sweepable_knob(run_cell, results_dir) -> None:
    for level in (0, 3):
        run_cell("+model=webrtcvad", "task=vad", "dataset=vad_golden_synth_v1", f"model.options.aggressiveness={level}")
    rows = (
        connect(results_dir)
        .sql(
            "SELECT json_extract(model_params, '$.aggressiveness')::INT AS a, speech_ratio, false_alarm_rate "
            "FROM runs ORDER BY a"
        )
        .fetchall()
    )
    (a0, ratio0, fa0), (a3, ratio3, fa3) = rows
    assert (a0, a3) == (0, 3)
    assert ratio3 < ratio0 and fa3 < fa0  # more aggressive: less is called speech


@pytest.mark.slow
def test_faster_whisper_vad_and_silero_onnx(run_cell) -> None:
    fw = run_cell("+model=faster_whisper_vad", "task=vad", "dataset=vad_golden_synth_v1", "+dataset.limit=6")
    onnx = run_cell(
        "+model=silero_vad", "task=vad", "dataset=vad_golden_synth_v1", "+dataset.limit=6", "model.options.onnx=true"
    )
    for run in (fw, onnx):
        assert run.status == "ok" and run.metrics["f1"] > 0.85 and run.metrics["ms_per_30ms_frame"] > 0


@pytest.mark.slow
def test_smoke_set_gates_without_references(run_cell, results_dir) -> None:
    summary = run_cell("+model=silero_vad", "task=vad", "dataset=vad_smoke_v1")
    assert summary.status == "ok"
    assert "f1" not in summary.metrics and summary.metrics["gate_pass_rate"] == 1.0
    rows = dict(connect(results_dir).sql("SELECT sample_id, gate_silence FROM samples").fetchall())
    assert rows["silence-00"] is True and rows["silence-01"] is True  # digital silence and -60 dBFS hiss
    assert all(v is None for k, v in rows.items() if not k.startswith("silence"))
