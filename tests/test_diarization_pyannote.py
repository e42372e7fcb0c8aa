"""The real pyannote.audio SpeakerDiarization pipeline, end to end, on tiny random weights.

No pretrained pyannote weights install from a registry, so the test builds a local pipeline
directory with the layout of pyannote's community-1 release (config.yaml, segmentation/,
embedding/, plda/) holding randomly initialised checkpoints, loads it with
``Pipeline.from_pretrained(dir)`` through the adapter, and runs it through the lab's runner on
an 8 s cut of the real call. Structure and types only: random weights say nothing of accuracy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

from modellab.results.views import connect

pytestmark = pytest.mark.slow  # imports lightning/pyannote and runs the pipeline (~10-20 s)


def build_random_pipeline(root: Path, seed: int = 0) -> Path:
    """A pyannote pipeline directory with random weights: PyanNet (powerset, 3 speakers, 5 s
    chunks) for segmentation, an x-vector (MFCC TDNN, 64-d) for embeddings, a random PLDA."""
    os.environ["PYANNOTE_METRICS_ENABLED"] = "false"
    import lightning
    import torch
    import yaml

    from modellab.models.pyannote_diarization import import_pyannote_pipeline

    import_pyannote_pipeline()  # telemetry off, torchcodec warning silenced
    from pyannote.audio import __version__ as pyannote_version
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import XVectorMFCC
    from pyannote.audio.models.segmentation import PyanNet

    def save(model: torch.nn.Module, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "state_dict": model.state_dict(),
                "hyper_parameters": dict(model.hparams),
                "pytorch-lightning_version": lightning.__version__,
                "pyannote.audio": {  # what pyannote's Model.on_save_checkpoint writes
                    "versions": {"pyannote.audio": pyannote_version},
                    "architecture": {"module": type(model).__module__, "class": type(model).__name__},
                    "specifications": model.specifications,
                },
            },
            path,
        )

    torch.manual_seed(seed)
    segmentation = PyanNet(lstm={"hidden_size": 16, "num_layers": 1}, linear={"hidden_size": 16, "num_layers": 1})
    segmentation.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=5.0,
        min_duration=5.0,
        warm_up=(0.0, 0.0),
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    segmentation.setup()
    save(segmentation, root / "segmentation" / "pytorch_model.bin")
    embedding = XVectorMFCC(dimension=64)
    embedding.specifications = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=5.0)
    embedding.setup()
    save(embedding, root / "embedding" / "pytorch_model.bin")
    rng = np.random.default_rng(seed)
    dim, lda = 64, 32
    (root / "plda").mkdir(parents=True, exist_ok=True)
    np.savez(
        root / "plda" / "xvec_transform.npz",
        mean1=rng.standard_normal(dim) * 0.01,
        mean2=rng.standard_normal(lda) * 0.01,
        lda=rng.standard_normal((dim, lda)) / np.sqrt(dim),
    )
    rotation, _ = np.linalg.qr(rng.standard_normal((lda, lda)))
    np.savez(root / "plda" / "plda.npz", mu=np.zeros(lda), tr=rotation, psi=np.linspace(2.0, 0.1, lda))
    config = {
        "dependencies": {"pyannote.audio": pyannote_version},
        "pipeline": {
            "name": "pyannote.audio.pipelines.SpeakerDiarization",
            "params": {
                "clustering": "VBxClustering",
                "segmentation": "$model/segmentation",
                "segmentation_step": 0.5,
                "embedding": "$model/embedding",
                "embedding_exclude_overlap": True,
                "plda": "$model/plda",
                "segmentation_batch_size": 8,
                "embedding_batch_size": 8,
            },
        },
        "params": {"clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8}, "segmentation": {"min_duration_off": 0.0}},
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return root


def short_call(root: Path, seconds: float = 8.0) -> Path:
    """A dataset dir with the first ``seconds`` of the pyannote sample call and its clipped RTTM."""
    from modellab.datasets.builders.pyannote_sample import sample_dir
    from modellab.metrics.diarization import read_rttm, write_rttm
    from modellab.types import SpeakerTurn

    src = sample_dir()
    data, sr = soundfile.read(str(src / "sample.wav"), dtype="float32")
    root.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(root / "call8.wav"), data[: int(seconds * sr)], sr)
    turns = [
        SpeakerTurn(t.start, min(t.end, seconds), t.speaker)
        for t in read_rttm(src / "sample.rttm")
        if t.start < seconds
    ]
    write_rttm(turns, root / "call8.rttm", uri="call8")
    row = {"sample_id": "call8", "audio": "call8.wav", "rttm": "call8.rttm", "duration": seconds}
    (root / "manifest.jsonl").write_text(json.dumps(row) + "\n")
    return root


def test_pipeline_loads_from_a_local_community1_layout(tmp_path: Path) -> None:
    pipe_dir = build_random_pipeline(tmp_path / "pipeline")
    assert {p.name for p in pipe_dir.iterdir()} == {"config.yaml", "segmentation", "embedding", "plda"}
    Pipeline = __import__("modellab.models.pyannote_diarization", fromlist=["x"]).import_pyannote_pipeline()
    pipeline = Pipeline.from_pretrained(pipe_dir)
    assert type(pipeline).__name__ == "SpeakerDiarization"
    assert os.environ["PYANNOTE_METRICS_ENABLED"] == "false"


def test_random_pipeline_runs_end_to_end_through_the_runner(tmp_path: Path, run_cell, results_dir) -> None:
    pipe_dir = build_random_pipeline(tmp_path / "pipeline")
    data = short_call(tmp_path / "data")
    summary = run_cell(
        "+model=pyannote_diarization",
        "task=diarization",
        "dataset=diar_golden_call_v1",
        f"dataset.root={data}",
        f"model.weights.path={pipe_dir}",
        "model.options.max_speakers=3",
        "warmup=false",
    )
    assert summary.status == "ok", summary.records[0].error
    turns = summary.records[0].output["turns"]
    assert isinstance(turns, list)
    for t in turns:
        assert set(t) == {"start", "end", "speaker"}
        assert 0.0 <= t["start"] < t["end"] <= 8.0 + 1e-6 and isinstance(t["speaker"], str)
    con = connect(results_dir)
    names = {r[0] for r in con.sql("SELECT name FROM metrics").fetchall()}
    assert {"der", "jer", "der_miss", "der_false_alarm", "der_confusion", "speaker_count_accuracy", "rtfx"} <= names
    der, collar = con.sql("SELECT der, der_collar_s FROM runs").fetchall()[0]
    assert der >= 0.0 and collar == 0.0
    artifact = con.sql("SELECT artifact FROM samples").fetchall()[0][0]
    assert len(Path(artifact).read_text().splitlines()) == len(turns)
