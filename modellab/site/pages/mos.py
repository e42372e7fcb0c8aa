"""``mos.html``, the listening test: blind, shuffled samples of generated speech, 1-5 ratings kept
in the browser (localStorage) and exported as JSON for ``python -m modellab mos ingest``
(:mod:`modellab.analysis.mos`, which defines the export :data:`~modellab.analysis.mos.FORMAT`).
Once ratings are ingested, the page also sets each quality predictor (DNSMOS, DistillMOS) against
them: Spearman's rho with n and its bootstrap interval."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from modellab.analysis.mos import FORMAT, predictor_correlations
from modellab.config import REPO_ROOT
from modellab.site.audio_store import prepare_audio, store_audio
from modellab.site.layout import PageWriter

__all__ = ["TASKS", "MosItem", "mos_items", "write_mos_page"]

TASKS = ("tts", "v2v")


@dataclass
class MosItem:
    item: str  # opaque id shown to nobody
    run_id: str
    sample_id: str
    text: str  # what the sample says (the prompt, or what a v2v cascade spoke)
    audio: str  # path relative to the site folder
    source: str  # absolute path of the generated wav


def write_mos_page(writer: PageWriter, con: Any, per_model: int = 12) -> Path:
    """Write ``mos.html`` with the rated wavs in the site's ``audio/`` (:mod:`modellab.site.audio_store`); return the page."""
    site_dir = writer.site_dir
    items = mos_items(con, per_model=per_model)
    shutil.rmtree(site_dir / "mos", ignore_errors=True)
    prepare_audio(it.source for it in items)  # stored once by content, as Opus, shared with the run pages
    for it in items:
        stored = store_audio(it.source, site_dir)
        if stored is not None:
            it.audio = stored
            continue
        target = site_dir / it.audio  # not storable (e.g. over 20 MiB): copied as it is
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(it.source, target)
    page_id = hashlib.sha256(json.dumps([(i.item, i.audio) for i in items]).encode()).hexdigest()[:12]
    data = {
        "format": FORMAT,
        "page_id": page_id,
        "items": [{k: v for k, v in asdict(it).items() if k != "source"} for it in items],
    }
    correlations = predictor_correlations(con)
    return writer.write(
        "mos.html", "mos.html", title="Listening test (MOS)", items=items, data=data, correlations=correlations
    )


def mos_items(con: Any, per_model: int = 12) -> list[MosItem]:
    """The samples to rate: up to ``per_model`` generated wavs of each system's chosen run."""
    if "task" not in _columns(con, "runs") or "artifact" not in _columns(con, "samples"):
        return []
    has_spoken = "tts_text" in _columns(con, "samples")
    items = []
    for run_id, task in _chosen_runs(con):
        text_col = "tts_text" if task == "v2v" and has_spoken else "reference"
        rows = con.execute(
            f"SELECT sample_id, {text_col}, artifact FROM samples "
            "WHERE run_id = ? AND error IS NULL AND artifact IS NOT NULL",
            [run_id],
        ).fetchall()
        items += _pick(run_id, rows, per_model)
    return items


def _pick(run_id: str, rows: list[tuple[Any, ...]], per_model: int) -> list[MosItem]:
    """Up to ``per_model`` of a run's (sample_id, text, artifact) rows whose wav exists, in a stable order."""
    picked: list[MosItem] = []
    for sample_id, text, artifact in sorted(rows, key=lambda r: _order_key(r[0])):
        source = _resolve(artifact) if str(artifact).endswith(".wav") else None
        if source is None:
            continue
        item = "i" + hashlib.sha1(f"{run_id}/{sample_id}".encode()).hexdigest()[:12]
        picked.append(MosItem(item, run_id, sample_id, text or "", f"mos/{run_id}/{source.name}", str(source)))
        if len(picked) >= per_model:
            break
    return picked


def _order_key(sample_id: str) -> str:
    """A stable pseudo-random order: the same prompts are picked for every model."""
    return hashlib.sha1(sample_id.encode()).hexdigest()


def _resolve(artifact: str) -> Path | None:
    for path in (Path(artifact), REPO_ROOT / artifact):
        if path.is_file():
            return path
    return None


def _columns(con: Any, view: str) -> set[str]:
    return {r[0] for r in con.execute(f"DESCRIBE {view}").fetchall()}


def _chosen_runs(con: Any) -> list[tuple[str, str]]:
    """(run_id, task) of the latest run of each system (task, model, parameters), on the dataset most systems share."""
    rows = con.execute(
        "SELECT run_id, task, model, dataset, CAST(model_params AS VARCHAR) FROM runs "
        "WHERE task IN ('tts', 'v2v') AND status IN ('ok', 'partial') ORDER BY started_at DESC, run_id DESC"
    ).fetchall()
    systems: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    for run_id, task, model, dataset, params in rows:
        systems.setdefault((task, model, params or ""), []).append((run_id, dataset))
    chosen = []
    for task in TASKS:
        mine = [runs for (t, _, _), runs in systems.items() if t == task]
        coverage: dict[str, int] = {}
        for runs in mine:
            for dataset in {d for _, d in runs}:
                coverage[dataset] = coverage.get(dataset, 0) + 1
        if not coverage:
            continue
        best = max(sorted(coverage), key=lambda d: coverage[d])
        for runs in mine:
            on_best = [r for r, d in runs if d == best]
            chosen.append(((on_best or [runs[0][0]])[0], task))
    return chosen
