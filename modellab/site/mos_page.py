"""The static MOS rating page: blind, shuffled samples of generated speech, 1-5 ratings kept in the
browser (localStorage) and exported as JSON for ``python -m modellab mos ingest``."""

from __future__ import annotations

import hashlib
import html
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from modellab.config import REPO_ROOT

__all__ = ["FORMAT", "MosItem", "mos_items", "render_mos_page"]

FORMAT = "modellab-mos-ratings/1"  # the export format that `python -m modellab mos ingest` reads
TASKS = ("tts", "v2v")


@dataclass
class MosItem:
    item: str  # opaque id shown to nobody
    run_id: str
    sample_id: str
    text: str  # what the sample says (the prompt, or what a v2v cascade spoke)
    audio: str  # path relative to the site folder
    source: str  # absolute path of the generated wav


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
        mine = {k: v for k, v in systems.items() if k[0] == task}
        coverage: dict[str, int] = {}
        for runs in mine.values():
            for dataset in {d for _, d in runs}:
                coverage[dataset] = coverage.get(dataset, 0) + 1
        if not coverage:
            continue
        best = max(sorted(coverage), key=lambda d: coverage[d])
        for runs in mine.values():
            on_best = [r for r, d in runs if d == best]
            chosen.append(((on_best or [runs[0][0]])[0], task))
    return chosen


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
        picked = 0
        for sample_id, text, artifact in sorted(rows, key=lambda r: _order_key(r[0])):
            source = _resolve(artifact) if str(artifact).endswith(".wav") else None
            if source is None:
                continue
            item = "i" + hashlib.sha1(f"{run_id}/{sample_id}".encode()).hexdigest()[:12]
            audio = f"mos/{run_id}/{source.name}"
            items.append(MosItem(item, run_id, sample_id, text or "", audio, str(source)))
            picked += 1
            if picked >= per_model:
                break
    return items


_STYLE = """
<style>
.mos-intro{max-width:50rem}
.mos-bar{display:flex;gap:1rem;align-items:center;flex-wrap:wrap;margin:1rem 0}
.mos-item{border:1px solid #ccc;border-radius:6px;padding:.75rem 1rem;margin:.75rem 0;max-width:50rem}
.mos-item.rated{border-color:#2a7;background:#f3fbf6}
.mos-item fieldset{border:0;padding:0;margin:.5rem 0 0;display:flex;gap:1rem;flex-wrap:wrap}
.mos-item audio{width:100%;max-width:30rem}
#mos-export{width:100%;max-width:50rem;height:8rem;font-family:monospace}
</style>
"""

_SCRIPT = """
<script>
(function () {
  const data = JSON.parse(document.getElementById('mos-data').textContent);
  const key = 'modellab-mos:' + data.page_id;
  const labels = {1: '1 Bad', 2: '2 Poor', 3: '3 Fair', 4: '4 Good', 5: '5 Excellent'};
  let state = {};
  try { state = JSON.parse(localStorage.getItem(key) || '{}'); } catch (e) { state = {}; }
  const ids = data.items.map(function (it) { return it.item; });
  if (!Array.isArray(state.order) || state.order.length !== ids.length ||
      !state.order.every(function (id) { return ids.indexOf(id) >= 0; })) {
    const order = ids.slice();
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      const t = order[i]; order[i] = order[j]; order[j] = t;
    }
    state = {order: order, scores: {}, rater: state.rater || '',
             rater_id: state.rater_id || Math.random().toString(16).slice(2, 14)};
  }
  state.scores = state.scores || {};
  function save() { try { localStorage.setItem(key, JSON.stringify(state)); } catch (e) { /* private mode */ } }
  const byId = {};
  data.items.forEach(function (it) { byId[it.item] = it; });
  const list = document.getElementById('mos-items');
  const progress = document.getElementById('mos-progress');
  function updateProgress() {
    const n = Object.keys(state.scores).filter(function (k) { return byId[k]; }).length;
    progress.textContent = n + ' of ' + ids.length + ' rated';
  }
  state.order.forEach(function (id, index) {
    const it = byId[id];
    const section = document.createElement('section');
    section.className = 'mos-item';
    section.dataset.item = id;
    const head = document.createElement('p');
    head.innerHTML = '<strong>Sample ' + (index + 1) + '</strong>';
    const text = document.createElement('p');
    text.className = 'mos-text';
    text.textContent = it.text;
    const audio = document.createElement('audio');
    audio.controls = true;
    audio.preload = 'none';
    audio.src = it.audio;
    const fieldset = document.createElement('fieldset');
    const legend = document.createElement('legend');
    legend.textContent = 'How natural does it sound?';
    fieldset.appendChild(legend);
    [1, 2, 3, 4, 5].forEach(function (score) {
      const label = document.createElement('label');
      const input = document.createElement('input');
      input.type = 'radio';
      input.name = 'score-' + id;
      input.value = String(score);
      input.checked = state.scores[id] === score;
      input.addEventListener('change', function () {
        state.scores[id] = score;
        section.classList.add('rated');
        save();
        updateProgress();
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(' ' + labels[score]));
      fieldset.appendChild(label);
    });
    if (state.scores[id]) { section.classList.add('rated'); }
    section.appendChild(head);
    section.appendChild(text);
    section.appendChild(audio);
    section.appendChild(fieldset);
    list.appendChild(section);
  });
  const rater = document.getElementById('mos-rater');
  rater.value = state.rater || '';
  rater.addEventListener('input', function () { state.rater = rater.value; save(); });
  document.getElementById('mos-export-button').addEventListener('click', function () {
    const ratings = state.order.filter(function (id) { return state.scores[id]; }).map(function (id) {
      return {item: id, run_id: byId[id].run_id, sample_id: byId[id].sample_id, score: state.scores[id]};
    });
    const doc = {format: data.format, page_id: data.page_id, rater: state.rater || '',
                 rater_id: state.rater_id, exported_at: new Date().toISOString(), ratings: ratings};
    const text = JSON.stringify(doc, null, 1);
    document.getElementById('mos-export').value = text;
    const link = document.getElementById('mos-download');
    link.href = URL.createObjectURL(new Blob([text], {type: 'application/json'}));
    link.download = 'mos-ratings-' + (state.rater || 'anonymous').replace(/[^A-Za-z0-9_-]+/g, '_') + '.json';
    link.hidden = false;
    link.click();
  });
  updateProgress();
})();
</script>
"""


def _body(items: list[MosItem], page_id: str) -> str:
    if not items:
        return (
            "<p>No generated speech in the results yet. Run a TTS benchmark first, e.g. "
            "<code>python -m modellab +model=piper task=tts</code>, then rebuild the site.</p>"
        )
    payload = {
        "format": FORMAT,
        "page_id": page_id,
        "items": [{k: v for k, v in asdict(it).items() if k != "source"} for it in items],
    }
    data = json.dumps(payload, ensure_ascii=False).replace("</", "<\\/")
    return (
        _STYLE
        + '<div class="mos-intro"><p>Listen to each sample and rate how natural it sounds, from 1 (bad) to 5 '
        + "(excellent). Samples are shuffled and their models are hidden. Your ratings stay in this browser "
        + "until you export them; send the exported JSON file to whoever runs "
        + f"<code>python -m modellab mos ingest FILE</code>. {len(items)} samples.</p></div>"
        + '<div class="mos-bar"><label>Your name <input id="mos-rater" autocomplete="name"></label>'
        + '<span id="mos-progress" aria-live="polite"></span></div>'
        + '<div id="mos-items"></div>'
        + '<div class="mos-bar"><button id="mos-export-button" type="button">Export ratings (JSON)</button>'
        + '<a id="mos-download" hidden>download</a></div>'
        + '<textarea id="mos-export" readonly aria-label="Exported ratings"></textarea>'
        + f'<script type="application/json" id="mos-data">{data}</script>'
        + _SCRIPT
    )


def _standalone(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


def render_mos_page(site_dir: Path, con: Any, per_model: int = 12) -> Path:
    """Write ``site_dir/mos.html`` and copy the rated wavs to ``site_dir/mos/<run_id>/``; return the page."""
    site_dir = Path(site_dir)
    items = mos_items(con, per_model=per_model)
    audio_dir = site_dir / "mos"
    shutil.rmtree(audio_dir, ignore_errors=True)
    for it in items:
        target = site_dir / it.audio
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(it.source, target)
    page_id = hashlib.sha256(json.dumps([(i.item, i.audio) for i in items]).encode()).hexdigest()[:12]
    body = _body(items, page_id)
    title = "Listening test (MOS)"
    try:
        from modellab.site.build import render_page
    except ImportError:
        render_page = None
    if render_page is not None:
        return Path(render_page(site_dir, "mos.html", title, body))
    site_dir.mkdir(parents=True, exist_ok=True)
    path = site_dir / "mos.html"
    path.write_text(_standalone(title, body), encoding="utf-8")
    return path
