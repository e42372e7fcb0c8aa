"""``try.html``, "Try it": Whisper tiny.en transcribing in the visitor's browser (transformers.js on
onnxruntime-web), beside what the lab measured of that same in-browser runtime.

The build links the ONNX export (the DVC stage ``browser_model``) into ``try/model/`` and the
pinned runtime files (``modellab/browser/web``'s npm install) into ``try/vendor/``; the page
fetches them by relative paths only when the visitor presses its button, after saying how many
bytes that is. The golden clips it offers are those the stored runs transcribed: the site's stored audio
(:mod:`~modellab.site.audio_store`), the same files as the run pages'.
Without the export the page still renders and says how to build it. Settings: ``conf/site/try_it.yaml``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modellab.config import CONF_DIR, REPO_ROOT
from modellab.config.schema import ConfigError, check_mapping
from modellab.site.audio_store import prepare_audio, store_audio
from modellab.site.layout import PageWriter

__all__ = [
    "PAGE",
    "SETTINGS",
    "BrowserRun",
    "Clip",
    "LinkedFiles",
    "TrySettings",
    "asr_runs",
    "browser_runs",
    "golden_clips",
    "link_files",
    "load_settings",
    "megabytes",
    "write_try_page",
]

PAGE = "try.html"
MODEL_DIR, VENDOR_DIR = "try/model", "try/vendor"
SETTINGS = CONF_DIR / "site" / "try_it.yaml"
_KEYS = frozenset(
    {"model", "export", "export_command", "model_files", "dtype", "vendor", "vendor_files", "clip_datasets"}
)


@dataclass(frozen=True)
class TrySettings:
    """``conf/site/try_it.yaml`` (see its comments); paths are absolute here."""

    model: str
    export: Path
    export_command: str
    model_files: tuple[str, ...]
    dtype: str
    vendor: Path
    vendor_files: tuple[str, ...]
    clip_datasets: tuple[str, ...]


def _repo_path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def load_settings(path: Path = SETTINGS, **overrides: Any) -> TrySettings:
    """The page's settings from ``path``; ``overrides`` replace keys (e.g. ``export=`` a scratch folder)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the Try-it page settings ({exc})") from exc
    values = check_mapping({**(raw or {}), **overrides}, str(path), _KEYS, tuple(sorted(_KEYS)))
    return TrySettings(
        model=str(values["model"]),
        export=_repo_path(str(values["export"])),
        export_command=str(values["export_command"]),
        model_files=tuple(str(f) for f in values["model_files"]),
        dtype=str(values["dtype"]),
        vendor=_repo_path(str(values["vendor"])),
        vendor_files=tuple(str(f) for f in values["vendor_files"]),
        clip_datasets=tuple(str(d) for d in values["clip_datasets"]),
    )


@dataclass(frozen=True)
class LinkedFiles:
    """Files put into the site: (site-relative path, bytes) of each, and the sources that were missing."""

    files: tuple[tuple[str, int], ...]
    missing: tuple[str, ...]

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.files)


def _shown(path: Path) -> str:
    """``path`` as the page shows it: relative to the repository when inside it."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def _link(source: Path, dest: Path) -> None:
    """Hard-link ``source`` to ``dest`` (no second copy of a large model on disk), else copy it."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)


def link_files(source_root: Path, names: tuple[str, ...], site_dir: Path, into: str, flat: bool = False) -> LinkedFiles:
    """Link each of ``names`` (relative to ``source_root``) into ``site_dir/into`` (keeping its sub-path, or
    only its file name when ``flat``). Nothing is linked when any is missing: a half model is no model."""
    missing = tuple(_shown(source_root / n) for n in names if not (source_root / n).is_file())
    if missing:
        return LinkedFiles((), missing)
    shutil.rmtree(site_dir / into, ignore_errors=True)
    files = []
    for name in names:
        rel = f"{into}/{Path(name).name if flat else name}"
        _link(source_root / name, site_dir / rel)
        files.append((rel, (site_dir / rel).stat().st_size))
    return LinkedFiles(tuple(files), ())


@dataclass(frozen=True)
class Clip:
    """A golden clip the page offers: its stored audio (site-relative) and its reference transcript."""

    dataset: str
    sample_id: str
    audio: str
    reference: str
    duration_s: float


RunRow = tuple[str, str, str, int, float]  # run_id, dataset, model, n_samples, audio_s


def asr_runs(con: Any, model: str, datasets: tuple[str, ...]) -> list[RunRow]:
    """Complete ASR runs of ``model`` or on ``datasets``, newest first: one scan of the runs for both uses."""
    marks = ", ".join("?" for _ in datasets) or "NULL"
    rows = con.execute(
        "SELECT run_id, dataset, model, n_samples, audio_s FROM runs WHERE task = 'asr' "
        f"AND status IN ('ok', 'partial') AND (model = ? OR dataset IN ({marks})) "
        "ORDER BY started_at DESC, run_id DESC",
        [model, *datasets],
    ).fetchall()
    return [(str(r), str(d), str(m), int(n or 0), float(a or 0.0)) for r, d, m, n, a in rows]


def _in(values: list[str]) -> str:
    return ", ".join("?" for _ in values)


def golden_clips(con: Any, site_dir: Path, datasets: tuple[str, ...], runs: list[RunRow]) -> list[Clip]:
    """The clips of ``datasets`` that the stored ASR ``runs`` transcribed (so the site stores their audio for
    the run pages), each once in the site's ``audio/``; in dataset order, then by sample id."""
    dataset_of = {run_id: dataset for run_id, dataset, *_ in runs if dataset in datasets}
    if not dataset_of:
        return []
    ids = list(dataset_of)
    rows = con.execute(
        "SELECT run_id, sample_id, audio_path, reference, duration_s FROM samples "
        f"WHERE run_id IN ({_in(ids)}) AND audio_path IS NOT NULL",
        ids,
    ).fetchall()
    picked: dict[tuple[str, str], tuple[str, str, float]] = {}
    for run_id, sample_id, audio_path, reference, duration_s in rows:
        picked.setdefault((dataset_of[run_id], str(sample_id)), (str(audio_path), str(reference or ""), duration_s))
    keys = sorted(picked, key=lambda key: (datasets.index(key[0]), key[1]))
    prepare_audio(picked[key][0] for key in keys)
    clips = []
    for dataset, sample_id in keys:
        audio_path, reference, duration_s = picked[(dataset, sample_id)]
        stored = store_audio(audio_path, site_dir)
        if stored is not None:
            clips.append(Clip(dataset, sample_id, stored, reference, float(duration_s or 0.0)))
    return clips


@dataclass(frozen=True)
class BrowserRun:
    """One stored ASR run of the in-browser runtime: WER and RTFx with their stored intervals."""

    run_id: str
    dataset: str
    n_samples: int
    minutes: float
    wer: float | None
    wer_interval: tuple[float, float] | None
    rtfx: float | None
    rtfx_interval: tuple[float, float] | None
    page_rtfx: float | None = None  # the model call alone, timed in the page (the adapter's page_rtfx metric)


def _interval(low: Any, high: Any) -> tuple[float, float] | None:
    return (float(low), float(high)) if low is not None and high is not None else None


def browser_runs(con: Any, model: str, runs: list[RunRow]) -> list[BrowserRun]:
    """The latest of ``runs`` (newest first) of ``model`` on each dataset, with its stored WER and RTFx."""
    latest: dict[str, RunRow] = {}
    for row in runs:
        if row[2] == model:
            latest.setdefault(row[1], row)
    ids = [row[0] for row in latest.values()]
    if not ids:
        return []
    metrics = {
        (run_id, name): (value, low, high)
        for run_id, name, value, low, high in con.execute(
            "SELECT run_id, name, value, ci_low, ci_high FROM metrics "
            f"WHERE run_id IN ({_in(ids)}) AND name IN ('wer', 'rtfx', 'page_rtfx')",
            ids,
        ).fetchall()
    }
    out = []
    for run_id, dataset, _, n_samples, audio_s in latest.values():
        wer, wer_low, wer_high = metrics.get((run_id, "wer"), (None, None, None))
        rtfx, rtfx_low, rtfx_high = metrics.get((run_id, "rtfx"), (None, None, None))
        page_rtfx = metrics.get((run_id, "page_rtfx"), (None, None, None))[0]
        out.append(
            BrowserRun(
                run_id,
                dataset,
                n_samples,
                audio_s / 60,
                None if wer is None else float(wer),
                _interval(wer_low, wer_high),
                None if rtfx is None else float(rtfx),
                _interval(rtfx_low, rtfx_high),
                None if page_rtfx is None else float(page_rtfx),
            )
        )
    return out


def megabytes(n_bytes: int) -> str:
    """``"41.3 MB"`` (10^6 bytes, one decimal): how the page states a download size."""
    return f"{n_bytes / 1e6:.1f} MB"


def write_try_page(writer: PageWriter, con: Any, settings: TrySettings | None = None) -> Path:
    """Write ``try.html`` and link the model and runtime files it loads into ``try/``; return the page."""
    settings = settings or load_settings()
    site_dir = writer.site_dir
    model = link_files(settings.export, settings.model_files, site_dir, MODEL_DIR)
    vendor = link_files(settings.vendor, settings.vendor_files, site_dir, VENDOR_DIR, flat=True)
    ready = not model.missing and not vendor.missing
    if not ready:
        shutil.rmtree(site_dir / "try", ignore_errors=True)
    runs = asr_runs(con, settings.model, settings.clip_datasets)
    clips = golden_clips(con, site_dir, settings.clip_datasets, runs)
    runner, transformers = (f"{VENDOR_DIR}/{Path(name).name}" for name in settings.vendor_files[:2])
    data = {  # what try_it.js hands the runner (runner.js loadModel); paths relative to the page
        "ready": ready,
        "runner": runner,
        "transformers": transformers,
        "wasm_paths": f"{VENDOR_DIR}/",
        "local_model_path": f"{Path(MODEL_DIR).parent.as_posix()}/",
        "model_id": Path(MODEL_DIR).name,
        "dtype": settings.dtype,
        "bytes": model.bytes + vendor.bytes,
        "clips": [vars(c) for c in clips],
    }
    return writer.write(
        PAGE,
        "try.html",
        title="Try it: speech recognition in your browser",
        settings=settings,
        model=model,
        vendor=vendor,
        ready=ready,
        total=megabytes(model.bytes + vendor.bytes),
        model_size=megabytes(model.bytes),
        vendor_size=megabytes(vendor.bytes),
        runs=browser_runs(con, settings.model, runs),
        clips=clips,
        data=data,
    )
