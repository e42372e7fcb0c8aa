"""The public benchmark configs (Open ASR Leaderboard English sets, FLEURS, AMI / VoxConverse
diarization): each materialised offline from a tiny fixture written in its published layout and
schema (Parquet files with the hub's columns and ``datasets`` features), then read offline; and,
without network, a build that names the set, its source and how to materialise it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from modellab.config import group_options
from modellab.config.registry import load_component
from modellab.datasets.base import DatasetNotAvailableError

datasets = pytest.importorskip("datasets")

ESB_SETS = {  # name: (config, split)
    "oasr_librispeech_test_clean": ("librispeech", "test.clean"),
    "oasr_librispeech_test_other": ("librispeech", "test.other"),
    "oasr_tedlium": ("tedlium", "test"),
    "oasr_voxpopuli": ("voxpopuli", "test"),
    "oasr_gigaspeech": ("gigaspeech", "test"),
    "oasr_spgispeech": ("spgispeech", "test"),
    "oasr_earnings22": ("earnings22", "test"),
    "oasr_ami": ("ami", "test"),
}
FLEURS_SETS = {
    "fleurs_en": "en_us",
    "fleurs_fr": "fr_fr",
    "fleurs_es": "es_419",
    "fleurs_it": "it_it",
    "fleurs_ru": "ru_ru",
}
DIAR_SETS = ("diar_ami_test", "diar_voxconverse_test")
PUBLIC = [*ESB_SETS, *FLEURS_SETS, *DIAR_SETS]


def _wav(seconds: float, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(int(seconds * rate), dtype=np.float32), rate, format="WAV")
    return buffer.getvalue()


def _readme(configs: dict[str, list[tuple[str, str]]]) -> str:
    """A dataset card whose YAML ``configs`` maps config -> split -> files, as on the hub."""
    lines = ["---", "configs:"]
    for config, splits in configs.items():
        lines += [f"- config_name: {config}", "  data_files:"]
        lines += [f"  - split: {split}\n    path: {path}" for split, path in splits]
    return "\n".join([*lines, "---", ""])


def _parquet(path: Path, columns: dict[str, list], features: datasets.Features) -> None:
    """Rows with the set's ``datasets`` features, written as the hub stores them (audio bytes stay
    encoded: ``decode=False`` casts the {bytes, path} structs without re-encoding them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    undecoded = datasets.Features(
        {
            k: datasets.Audio(sampling_rate=v.sampling_rate, decode=False) if isinstance(v, datasets.Audio) else v
            for k, v in features.items()
        }
    )
    datasets.Dataset.from_dict(columns).cast(undecoded).to_parquet(str(path))


def _component(name: str, source: Path, root: Path):
    return load_component("dataset", name, [f"dataset.options.path={source}", f"dataset.root={root}"])


def test_every_public_config_is_listed_with_its_source_and_licence() -> None:
    assert set(PUBLIC) <= set(group_options("dataset"))
    restricted = {"oasr_tedlium", "oasr_gigaspeech", "oasr_spgispeech"}
    for name in PUBLIC:
        ds = load_component("dataset", name)
        assert ds.needs_network and ds.license and ds.license != "unknown", name
        assert ("RESTRICTED" in ds.license) == (name in restricted), name


@pytest.mark.parametrize("name", PUBLIC)
def test_offline_build_names_the_set_its_source_and_the_way_to_materialise_it(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ds = load_component("dataset", name, [f"dataset.root={tmp_path / name}"])
    with pytest.raises(DatasetNotAvailableError) as err:
        ds.ensure_built()
    message = str(err.value)
    assert f"dataset '{name}' comes from the Hugging Face hub ({ds.options.path}" in message
    assert f"HF_HUB_OFFLINE=0 python -m modellab.datasets build {name}" in message
    assert "on a machine with network and copy" in message


ESB_FEATURES = datasets.Features(
    {
        "audio": datasets.Audio(sampling_rate=16000),
        "dataset": datasets.Value("string"),
        "text": datasets.Value("string"),
        "id": datasets.Value("string"),
        "audio_length_s": datasets.Value("float64"),
    }
)


def _esb_repo(root: Path) -> Path:
    """hf-audio/esb-datasets-test-only-sorted: one folder per config, ``<split>-0000n-of-0000m.parquet``."""
    configs: dict[str, list[tuple[str, str]]] = {}
    for config, split in sorted(set(ESB_SETS.values())):
        files = f"{config}/{split}-*"
        configs.setdefault(config, []).append((split, files))
        rows = {
            "audio": [{"bytes": _wav(0.5), "path": f"{config}-{split}-a.wav"}, {"bytes": _wav(0.25), "path": None}],
            "dataset": [config, config],
            "text": [f"{config} {split} first", "second utterance"],
            "id": [f"{config}-{split}-a", f"{config}-{split}-b"],
            "audio_length_s": [0.5, 0.25],
        }
        _parquet(root / config / f"{split}-00000-of-00001.parquet", rows, ESB_FEATURES)
    (root / "README.md").write_text(_readme(configs))
    return root


@pytest.mark.parametrize("name", list(ESB_SETS))
def test_open_asr_leaderboard_sets_materialise_from_the_esb_layout(name: str, tmp_path: Path) -> None:
    repo = _esb_repo(tmp_path / "esb")
    config, split = ESB_SETS[name]
    samples = _component(name, repo, tmp_path / "built").samples()
    assert [(s.sample_id, s.text, s.duration_s, s.language) for s in samples] == [
        (f"{config}-{split}-a", f"{config} {split} first", 0.5, "en"),
        (f"{config}-{split}-b", "second utterance", 0.25, "en"),
    ]
    assert soundfile.info(samples[0].audio_path).duration == 0.5
    offline = _component(name, tmp_path / "gone", tmp_path / "built")  # materialised: no source needed
    assert [s.sample_id for s in offline.samples()] == [s.sample_id for s in samples]


FLEURS_FEATURES = datasets.Features(
    {
        "id": datasets.Value("int32"),
        "num_samples": datasets.Value("int32"),
        "path": datasets.Value("string"),
        "audio": datasets.Audio(sampling_rate=16000),
        "transcription": datasets.Value("string"),
        "raw_transcription": datasets.Value("string"),
        "gender": datasets.ClassLabel(names=["male", "female", "other"]),
        "lang_id": datasets.Value("int64"),
        "language": datasets.Value("string"),
        "lang_group_id": datasets.Value("int64"),
    }
)


@pytest.mark.parametrize("name", list(FLEURS_SETS))
def test_fleurs_materialises_from_its_parquet_export(name: str, tmp_path: Path) -> None:
    """google/fleurs@refs/convert/parquet: ``<config>/test/0000.parquet``; the same sentence id is
    read by two speakers, so sample ids are row-based; ``language`` is a name, not a code."""
    config = FLEURS_SETS[name]
    rows = {
        "id": [1901, 1901],
        "num_samples": [8000, 4000],
        "path": ["a.wav", "b.wav"],
        "audio": [{"bytes": _wav(0.5), "path": "a.wav"}, {"bytes": _wav(0.25), "path": "b.wav"}],
        "transcription": ["une phrase lue", "une phrase lue"],
        "raw_transcription": ["Une phrase lue.", "Une phrase lue."],
        "gender": [0, 1],
        "lang_id": [25, 25],
        "language": ["Some Language", "Some Language"],
        "lang_group_id": [0, 0],
    }
    repo = tmp_path / "fleurs"
    _parquet(repo / config / "test" / "0000.parquet", rows, FLEURS_FEATURES)
    ds = _component(name, repo, tmp_path / "built")
    samples = ds.samples()
    assert [(s.sample_id, s.text, s.duration_s) for s in samples] == [
        ("test-0", "Une phrase lue.", 0.5),
        ("test-1", "Une phrase lue.", 0.25),
    ]
    assert {s.language for s in samples} == {name.removeprefix("fleurs_")}


DIAR_FEATURES = datasets.Features(
    {
        "audio": datasets.Audio(sampling_rate=16000),
        "timestamps_start": datasets.Sequence(datasets.Value("float64")),
        "timestamps_end": datasets.Sequence(datasets.Value("float64")),
        "speakers": datasets.Sequence(datasets.Value("string")),
    }
)


@pytest.mark.parametrize("name", DIAR_SETS)
def test_diarization_sets_materialise_audio_and_rttm(name: str, tmp_path: Path) -> None:
    """diarizers-community/{ami,voxconverse}: per row the audio and three parallel turn lists."""
    from modellab.metrics.diarization import read_rttm

    ds = load_component("dataset", name)
    config, split = ds.options.name, ds.options.split
    rows = {
        "audio": [{"bytes": _wav(2.0), "path": "EN2002a.wav"}],
        "timestamps_start": [[0.0, 0.5]],
        "timestamps_end": [[1.0, 1.75]],
        "speakers": [["MEE068", "FEO065"]],
    }
    repo = tmp_path / "diar"
    folder = repo / config if config else repo / "data"
    _parquet(folder / f"{split}-00000-of-00001.parquet", rows, DIAR_FEATURES)
    (repo / "README.md").write_text(_readme({config or "default": [(split, f"{folder.name}/{split}-*")]}))
    samples = _component(name, repo, tmp_path / "built").samples()
    assert [(s.sample_id, s.duration_s) for s in samples] == [("test-0", 2.0)]
    turns = read_rttm(samples[0].rttm_path)
    assert [(t.start, t.end, t.speaker) for t in turns] == [(0.0, 1.0, "MEE068"), (0.5, 1.75, "FEO065")]


def test_the_listing_says_how_to_materialise_a_hub_set() -> None:
    from modellab.datasets.__main__ import _how_to_build

    ds = load_component("dataset", "fleurs_ru")
    assert _how_to_build(ds) == "no (downloads once: HF_HUB_OFFLINE=0 python -m modellab.datasets build fleurs_ru)"
