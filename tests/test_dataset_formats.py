"""Dataset formats: JSONL/CSV manifests, LibriSpeech, Kaldi, RTTM/UEM, Lhotse, Hugging Face.

Each test writes a tiny corpus in the format, reads it through the dataset class and checks the
samples field by field; malformed files fail with the file (and line) named.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from modellab.config.registry import load_component
from modellab.datasets.base import DatasetError, DatasetNotAvailableError
from modellab.datasets.hf import HFDataset
from modellab.datasets.kaldi import KaldiDataset
from modellab.datasets.lhotse import LhotseDataset
from modellab.datasets.librispeech import LibriSpeechDataset
from modellab.datasets.manifest import ManifestDataset
from modellab.datasets.rttm import RTTMDataset

SR = 16_000
DUMMY_TEXT = "he was not an ill disposed young man"  # what conf/model/dummy_asr.yaml says


def tone(path: Path, seconds: float, fmt: str = "WAV") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * SR)) / SR
    soundfile.write(str(path), (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SR, format=fmt)
    return path


# --- JSONL / CSV manifests -------------------------------------------------------------------


def test_csv_manifest_with_declared_columns(tmp_path: Path) -> None:
    tone(tmp_path / "wavs" / "a.wav", 1.0)
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "a.rttm").write_text("SPEAKER a 1 0.0 1.0 <NA> <NA> alice <NA> <NA>\n")
    (tmp_path / "list.csv").write_text(
        "utt,wav_path,transcript,spk,rttm_file,lang,secs\na1,wavs/a.wav,hello there,alice,ref/a.rttm,de,1.0\n"
    )
    ds = ManifestDataset(
        name="csv_set",
        root=str(tmp_path),
        manifest="list.csv",
        columns={
            "sample_id": "utt",
            "audio": "wav_path",
            "text": "transcript",
            "speaker": "spk",
            "rttm": "rttm_file",
            "language": "lang",
            "duration": "secs",
        },
    )
    (s,) = ds.samples()
    assert (s.sample_id, s.text, s.speaker, s.language, s.duration_s) == ("a1", "hello there", "alice", "de", 1.0)
    assert s.audio_path == str((tmp_path / "wavs" / "a.wav").resolve())
    assert s.rttm_path == str((tmp_path / "ref" / "a.rttm").resolve())


def test_manifest_refuses_paths_outside_the_root_and_missing_columns(tmp_path: Path) -> None:
    (tmp_path / "m.jsonl").write_text('{"sample_id": "x", "audio": "../../etc/passwd"}\n')
    with pytest.raises(DatasetError, match=r"m\.jsonl:1: path '../../etc/passwd' escapes the dataset root"):
        ManifestDataset(name="m", root=str(tmp_path), manifest="m.jsonl").samples()
    (tmp_path / "m.csv").write_text("id,wav\nx,a.wav\n")
    with pytest.raises(DatasetError, match=r"m\.csv: header lacks required columns \['sample_id'\]"):
        ManifestDataset(name="m", root=str(tmp_path), manifest="m.csv", columns={"audio": "wav"}).samples()


# --- LibriSpeech ------------------------------------------------------------------------------


def librispeech(root: Path) -> Path:
    for spk, chap, utts in (("84", "121123", ["0000", "0001"]), ("1089", "134686", ["0000"])):
        folder = root / spk / chap
        lines = []
        for i, utt in enumerate(utts):
            tone(folder / f"{spk}-{chap}-{utt}.flac", 0.5 + i, fmt="FLAC")
            lines.append(f"{spk}-{chap}-{utt} {'HE WAS NOT AN ILL DISPOSED YOUNG MAN' if i == 0 else 'GO DO YOU HEAR'}")
        (folder / f"{spk}-{chap}.trans.txt").write_text("\n".join(lines) + "\n")
    return root


def test_librispeech_layout(tmp_path: Path) -> None:
    root = librispeech(tmp_path / "test-clean")
    ds = LibriSpeechDataset(name="ls", root=str(root), options={"audio_ext": "flac"})
    assert ds.is_built()
    samples = ds.samples()
    assert [s.sample_id for s in samples] == ["1089-134686-0000", "84-121123-0000", "84-121123-0001"]
    assert [s.speaker for s in samples] == ["1089", "84", "84"]
    assert [s.duration_s for s in samples] == [0.5, 0.5, 1.5]
    assert samples[2].text == "GO DO YOU HEAR"
    assert samples[1].audio_path == str(root / "84" / "121123" / "84-121123-0000.flac")


def test_librispeech_errors_name_the_line(tmp_path: Path) -> None:
    root = librispeech(tmp_path / "ls")
    (root / "84" / "121123" / "84-121123-0001.flac").unlink()
    with pytest.raises(DatasetError, match=r"84-121123\.trans\.txt:2: audio file .*84-121123-0001\.flac not found"):
        LibriSpeechDataset(name="ls", root=str(root), options={"audio_ext": "flac"}).samples()
    (root / "84" / "121123" / "84-121123.trans.txt").write_text("99-1-0000 HELLO\n")
    with pytest.raises(DatasetError, match=r"trans\.txt:1: utterance '99-1-0000' does not belong to chapter"):
        LibriSpeechDataset(name="ls", root=str(root), options={"audio_ext": "flac"}).samples()


def test_format_options_are_typed_and_required(tmp_path: Path) -> None:
    from modellab.config import ConfigError

    with pytest.raises(ConfigError, match=r"conf/dataset/ls\.yaml options: missing required keys \['audio_ext'\]"):
        LibriSpeechDataset(name="ls", root=str(tmp_path))
    with pytest.raises(ConfigError, match="colour"):
        LibriSpeechDataset(name="ls", root=str(tmp_path), options={"audio_ext": "flac", "colour": "red"})
    with pytest.raises(ConfigError, match="colour"):  # a plain manifest takes no options at all
        ManifestDataset(name="m", root=str(tmp_path), manifest="m.jsonl", options={"colour": "red"})


def test_librispeech_config_is_registered_and_unavailable_until_added() -> None:
    ds = load_component("dataset", "librispeech_test_clean")
    assert isinstance(ds, LibriSpeechDataset)
    assert ds.root.parts[-3:] == ("corpora", "LibriSpeech", "test-clean")
    if not ds.is_built():
        with pytest.raises(DatasetNotAvailableError, match="dvc pull"):
            ds.ensure_built()


# --- Kaldi ------------------------------------------------------------------------------------


def kaldi(root: Path) -> Path:
    tone(root / "wav" / "rec1.wav", 5.0)
    tone(root / "wav" / "rec2.wav", 3.0)
    (root / "wav.scp").write_text("rec1 wav/rec1.wav\nrec2 wav/rec2.wav\n")
    (root / "segments").write_text("rec1-a rec1 0.50 2.50\nrec1-b rec1 2.75 4.75\nrec2-a rec2 1.00 -1\n")
    (root / "text").write_text(f"rec1-a {DUMMY_TEXT}\nrec1-b he was not a man\nrec2-a\n")
    (root / "utt2spk").write_text("rec1-a spk1\nrec1-b spk2\nrec2-a spk1\n")
    return root


def test_kaldi_data_dir_with_segments(tmp_path: Path) -> None:
    root = kaldi(tmp_path / "data" / "test")
    samples = KaldiDataset(name="k", root=str(root)).samples()
    assert [s.sample_id for s in samples] == ["rec1-a", "rec1-b", "rec2-a"]
    assert [(s.offset_s, s.extra.get("end_s"), s.duration_s) for s in samples] == [
        (0.5, 2.5, 2.0),
        (2.75, 4.75, 2.0),
        (1.0, None, 2.0),  # end -1: to the end of the 3 s recording
    ]
    assert [s.speaker for s in samples] == ["spk1", "spk2", "spk1"]
    assert [s.text for s in samples] == [DUMMY_TEXT, "he was not a man", ""]
    assert samples[0].audio_path == str(root / "wav" / "rec1.wav")


def test_kaldi_without_segments_or_text_is_one_sample_per_recording(tmp_path: Path) -> None:
    root = kaldi(tmp_path / "k")
    for name in ("segments", "text", "utt2spk"):
        (root / name).unlink()
    samples = KaldiDataset(name="k", root=str(root)).samples()
    assert [(s.sample_id, s.text, s.offset_s, s.duration_s) for s in samples] == [
        ("rec1", None, 0.0, 5.0),
        ("rec2", None, 0.0, 3.0),
    ]


@pytest.mark.parametrize(
    ("filename", "content", "error"),
    [
        ("wav.scp", "rec1 sox wav/rec1.wav -t wav - |\n", r"wav\.scp:1: piped commands are not supported"),
        ("wav.scp", "rec1 feats.ark:1234\n", r"wav\.scp:1: archive offsets are not supported"),
        ("wav.scp", "rec1 ../../outside.wav\n", r"wav\.scp:1: path '../../outside.wav' escapes the dataset root"),
        ("wav.scp", "rec1 wav/rec1.wav\nrec1 wav/rec2.wav\n", r"wav\.scp:2: duplicate id 'rec1'"),
        ("segments", "rec1-a rec9 0 1\n", r"segments:1: recording 'rec9' is not in wav\.scp"),
        ("segments", "rec1-a rec1 2 1\n", r"segments:1: segment \[2\.0, 1\.0\] is empty"),
        ("text", "rec1-a hello\n", r"text: no line for utterance 'rec1-b'"),
        ("utt2spk", "rec1-a s\nrec1-b s\nrec2-a s\nrec3 s\n", r"utt2spk:4: unknown utterance 'rec3'"),
    ],
)
def test_kaldi_errors_name_the_file_and_line(tmp_path: Path, filename: str, content: str, error: str) -> None:
    root = kaldi(tmp_path / "k")
    (root / filename).write_text(content)
    with pytest.raises(DatasetError, match=error):
        KaldiDataset(name="k", root=str(root)).samples()


def test_kaldi_segments_run_through_the_runner(run_cell, tmp_path: Path) -> None:  # noqa: ANN001
    """The runner cuts each segment out of its recording: audio seconds = segment lengths, WER by hand."""
    root = kaldi(tmp_path / "k")
    (root / "segments").write_text("rec1-a rec1 0.50 2.50\nrec1-b rec1 2.75 4.75\n")
    (root / "text").write_text(f"rec1-a {DUMMY_TEXT}\nrec1-b he was not a man\n")
    (root / "utt2spk").write_text("rec1-a spk1\nrec1-b spk2\n")
    summary = run_cell(
        "+model=dummy_asr",
        "task=asr",
        "dataset=librispeech_test_clean",
        "dataset._target_=modellab.datasets.kaldi.KaldiDataset",
        "dataset.name=kaldi_test",
        f"dataset.root={root}",
        "~dataset.options.audio_ext",
    )
    assert summary.status == "ok"
    # "he was not a man" vs the dummy's 8 words: a->an plus 3 insertions = 4 errors; 4 / (8 + 5) words
    assert summary.metrics["wer"] == pytest.approx(4 / 13)
    assert summary.metrics["audio_s"] == pytest.approx(4.0, abs=1e-3)


# --- RTTM / UEM -------------------------------------------------------------------------------


def rttm_corpus(root: Path) -> Path:
    for uri, seconds in (("callA", 2.0), ("callB", 1.0)):
        tone(root / "audio" / f"{uri}.wav", seconds)
        (root / "rttm").mkdir(parents=True, exist_ok=True)
        (root / "rttm" / f"{uri}.rttm").write_text(
            f"SPEAKER {uri} 1 0.000 0.500 <NA> <NA> alice <NA> <NA>\nSPEAKER {uri} 1 0.500 0.400 <NA> <NA> bob <NA> <NA>\n"
        )
    (root / "all.uem").write_text("callA 1 0.000 2.000\ncallB 1 0.100 0.900\n")
    return root


def rttm_options(**changes: object) -> dict[str, object]:
    return {"audio": "audio/{uri}.wav", "rttm": "rttm/{uri}.rttm", "uem": "all.uem", "uris": None, **changes}


def test_rttm_uem_dataset(tmp_path: Path) -> None:
    root = rttm_corpus(tmp_path / "diar")
    ds = RTTMDataset(name="d", root=str(root), tasks=["diarization"], options=rttm_options())
    samples = ds.samples()
    assert [s.sample_id for s in samples] == ["callA", "callB"]
    assert [s.duration_s for s in samples] == [2.0, 1.0]
    assert samples[1].rttm_path == str(root / "rttm" / "callB.rttm")
    assert samples[1].extra == {"uri": "callB", "uem": [[0.1, 0.9]]}
    first = ds.content_hash()
    (root / "all.uem").write_text("callA 1 0.000 2.000\ncallB 1 0.200 0.900\n")
    changed = RTTMDataset(name="d", root=str(root), options=rttm_options()).content_hash()
    assert first != changed  # the scored regions are part of the dataset's identity


def test_rttm_uri_list_and_errors(tmp_path: Path) -> None:
    root = rttm_corpus(tmp_path / "diar")
    (root / "test.lst").write_text("callB\n")
    samples = RTTMDataset(name="d", root=str(root), options=rttm_options(uris="test.lst", uem=None)).samples()
    assert [(s.sample_id, s.extra) for s in samples] == [("callB", {"uri": "callB"})]

    (root / "rttm" / "callA.rttm").write_text("SPEAKER callB 1 0.0 0.5 <NA> <NA> alice <NA> <NA>\n")
    with pytest.raises(DatasetError, match=r"callA\.rttm:1: line about recording 'callB' in the RTTM of 'callA'"):
        RTTMDataset(name="d", root=str(root), options=rttm_options()).samples()
    (root / "rttm" / "callA.rttm").write_text("SPEAKER callA 1 zero 0.5 <NA> <NA> alice <NA> <NA>\n")
    with pytest.raises(DatasetError, match=r"callA\.rttm:1: start and duration must be numbers"):
        RTTMDataset(name="d", root=str(root), options=rttm_options()).samples()
    (root / "all.uem").write_text("callA 1 0.0 2.0\n")
    (root / "rttm" / "callA.rttm").write_text("")
    with pytest.raises(DatasetError, match=r"all\.uem: no UEM region for recording 'callB'"):
        RTTMDataset(name="d", root=str(root), options=rttm_options()).samples()
    with pytest.raises(DatasetError, match=r"options\.rttm: needs \{uri\} exactly once"):
        RTTMDataset(name="d", root=str(root), options=rttm_options(rttm="all.rttm"))


# --- Lhotse -----------------------------------------------------------------------------------


def lhotse_corpus(root: Path, source_type: str = "file") -> Path:
    tone(root / "audio" / "rec1.wav", 3.0)
    recordings = [
        {
            "id": "rec1",
            "sources": [{"type": source_type, "channels": [0], "source": "audio/rec1.wav"}],
            "sampling_rate": SR,
            "num_samples": 3 * SR,
            "duration": 3.0,
        }
    ]
    supervisions = [
        {"id": "rec1-0", "recording_id": "rec1", "start": 0.0, "duration": 1.0, "channel": 0, "text": "HELLO",
         "language": "English", "speaker": "s1"},
        {"id": "rec1-1", "recording_id": "rec1", "start": 1.5, "duration": 1.25, "channel": 0, "text": "WORLD",
         "speaker": "s2"},
    ]  # fmt: skip
    for name, items in (("recordings", recordings), ("supervisions", supervisions)):
        with gzip.open(root / f"{name}.jsonl.gz", "wt", encoding="utf-8") as fh:
            fh.writelines(json.dumps(item) + "\n" for item in items)
    return root


LHOTSE_OPTIONS = {"recordings": "recordings.jsonl.gz", "supervisions": "supervisions.jsonl.gz"}


def test_lhotse_manifests(tmp_path: Path) -> None:
    root = lhotse_corpus(tmp_path / "lh")
    samples = LhotseDataset(name="lh", root=str(root), options=LHOTSE_OPTIONS).samples()
    assert [(s.sample_id, s.offset_s, s.extra["end_s"], s.duration_s) for s in samples] == [
        ("rec1-0", 0.0, 1.0, 1.0),
        ("rec1-1", 1.5, 2.75, 1.25),
    ]
    assert [(s.text, s.speaker, s.language) for s in samples] == [("HELLO", "s1", "English"), ("WORLD", "s2", "en")]
    assert samples[0].audio_path == str(root / "audio" / "rec1.wav")


def test_lhotse_refuses_non_file_sources(tmp_path: Path) -> None:
    root = lhotse_corpus(tmp_path / "lh", source_type="command")
    with pytest.raises(DatasetError, match=r"recordings\.jsonl\.gz:1: recording 'rec1' has a 'command' source"):
        LhotseDataset(name="lh", root=str(root), options=LHOTSE_OPTIONS).samples()


# --- Hugging Face datasets --------------------------------------------------------------------


def hf_local(path: Path) -> dict[str, bytes]:
    """A local DatasetDict (split 'test') written by the datasets library itself."""
    datasets = pytest.importorskip("datasets")
    blobs = {}
    for name, fmt in (("u1", "WAV"), ("u2", "FLAC")):
        blobs[name] = tone(path.parent / "src" / f"{name}.{fmt.lower()}", 0.25, fmt=fmt).read_bytes()
    table = datasets.Dataset.from_dict(
        {
            "key": ["u1", "u2"],
            "clip": [{"bytes": blobs["u1"], "path": "u1.wav"}, {"bytes": blobs["u2"], "path": None}],
            "sentence": ["first one", "second one"],
            "speaker_id": [7, 8],
        }
    ).cast_column("clip", datasets.Audio(decode=False))
    datasets.DatasetDict({"test": table}).save_to_disk(str(path))
    return blobs


def hf_options(path: Path) -> dict[str, object]:
    return {"path": str(path), "name": None, "split": "test", "revision": None}


def test_hf_local_dataset_is_materialised_and_read(tmp_path: Path) -> None:
    blobs = hf_local(tmp_path / "hf_saved")
    columns = {"sample_id": "key", "audio": "clip", "text": "sentence", "speaker": "speaker_id"}
    ds = HFDataset(name="hf", root=str(tmp_path / "built"), columns=columns, options=hf_options(tmp_path / "hf_saved"))
    assert not ds.needs_network and not ds.is_built()
    samples = ds.samples()
    assert [(s.sample_id, s.text, s.speaker, s.duration_s) for s in samples] == [
        ("u1", "first one", "7", 0.25),
        ("u2", "second one", "8", 0.25),
    ]
    assert [Path(s.audio_path).suffix for s in samples] == [".wav", ".flac"]  # from the path, else the magic bytes
    assert Path(samples[1].audio_path).read_bytes() == blobs["u2"]
    assert ds.is_built()
    again = HFDataset(
        name="hf", root=str(tmp_path / "built"), columns=columns, options=hf_options(tmp_path / "nowhere")
    )
    assert [s.sample_id for s in again.samples()] == ["u1", "u2"]  # materialised: read offline from the manifest


def test_hf_columns_are_declared_not_guessed(tmp_path: Path) -> None:
    hf_local(tmp_path / "hf_saved")
    options = hf_options(tmp_path / "hf_saved")
    with pytest.raises(DatasetError, match=r"declare the audio column"):
        HFDataset(name="hf", root=str(tmp_path / "b"), columns={"text": "sentence"}, options=options)
    ds = HFDataset(name="hf", root=str(tmp_path / "b"), columns={"audio": "audio", "text": "text"}, options=options)
    with pytest.raises(DatasetError, match=r"columns: \['audio', 'text'\] not in .*has \['key', 'clip'"):
        ds.samples()


def test_hf_hub_dataset_offline_says_how_to_fetch_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    options = {"path": "someone/some_speech_set", "name": None, "split": "test", "revision": None}
    ds = HFDataset(name="hub_set", root=str(tmp_path / "b"), columns={"audio": "audio"}, options=options)
    assert ds.needs_network
    with pytest.raises(DatasetNotAvailableError, match=r"HF_HUB_OFFLINE=0 python -m modellab.datasets build hub_set"):
        ds.ensure_built()
