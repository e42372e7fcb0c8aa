"""Run permalink pages (``runs/<run_id>.html``): the part of a site that grows with the results.

A store with thousands of runs makes thousands of pages, so this module keeps the per-page work
small (sample tables rendered as ready HTML rows, normalised texts cached, each audio file
copied once) and renders the pages in forked worker processes when there are many.
"""

from __future__ import annotations

import functools
import html
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from markupsafe import Markup

from modellab.site.audio_store import prepare_audio, store_audio
from modellab.site.catalog import SPEED_METRICS, main_metrics, number_formatter
from modellab.site.charts import histogram_chart
from modellab.site.layout import PageWriter
from modellab.site.shaping import DiffOp, context_notes, hardware_text, is_number, run_page, word_diff
from modellab.site.timeline import Track, reference_turns_for, timeline_svg, turns_from

__all__ = [
    "RunPageJob",
    "RunPageRendering",
    "RunPages",
    "auto_workers",
    "can_fork_workers",
    "diff_html",
    "normalised",
    "render_run_pages",
    "sample_details",
    "speaker_timeline",
]

WORST_DETAILS = 10  # worst samples shown with a word diff and audio on a run page
PARALLEL_FROM = 200  # runs from which pages are rendered in worker processes (below, fork costs more)
MAX_WORKERS = 4

_PASS_CELL = '<td data-value="1.0" class="pass">✓</td>'
_FAIL_CELL = '<td data-value="0.0" class="fail">✗</td>'
_SKIP_SAMPLE_COLUMNS = {"run_id", "output", "reference", "hypothesis", "audio_path", "artifact"}


@dataclass
class RunPageJob:
    """One run's page: its row, task, primary metric, worst samples and per-sample values."""

    run: Mapping[str, Any]
    task: str
    primary: str | None
    rows: list[dict[str, Any]]
    values: list[float]


@dataclass
class RunPages:
    """What every run page shares (computed once per build)."""

    writer: PageWriter
    directions: Mapping[str, bool | None]
    metrics: Mapping[str, list[Any]]
    gates: Mapping[str, list[Any]]
    colours: Mapping[str, int]
    dataset_hashes: Mapping[str, str | None]
    downloads: Mapping[str, str]
    media: Callable[[str | None], str | None] = field(init=False)

    def __post_init__(self) -> None:
        site_dir = self.writer.site_dir
        # one file per audio content (Opus, see modellab.site.audio_store), however many runs show it
        self.media = functools.lru_cache(maxsize=None)(lambda source: store_audio(source, site_dir))

    def render(self, job: RunPageJob) -> None:
        run, primary = job.run, job.primary
        run_id = str(run["run_id"])
        columns, table = sample_table(job.rows, primary)
        model = str(run.get("model"))
        hist = (
            histogram_chart([(model, "", job.values, self.colours.get(model, 0))], primary)
            if primary and job.values
            else None
        )
        self.writer.write(
            run_page(run_id),
            "run.html",
            title=f"Run {run_id}",
            run=run,
            primary=primary,
            cards=_cards(job.task, run, self.directions),
            metrics=self.metrics.get(run_id, []),
            directions=self.directions,
            gates=self.gates.get(run_id, []),
            gate_options=_gate_options(run),
            notes=context_notes([run]),
            hardware=hardware_text(run.get("hardware")),
            sample_columns=columns,
            sample_rows=table,
            details=sample_details(job.rows, run, primary, self.media, self._reference_now(run)),
            n_samples_total=int(run.get("n_samples") or 0),
            download=self.downloads.get(run_id),
            hist=hist,
            current_hash=self.dataset_hashes.get(str(run.get("dataset"))),
            reference_now=self._reference_now(run),
        )

    def _reference_now(self, run: Mapping[str, Any]) -> bool:
        """Whether the dataset's references as they are now are the run's (same content hash)."""
        current = self.dataset_hashes.get(str(run.get("dataset")))
        return current is not None and current == run.get("dataset_hash")


def auto_workers(n_pages: int) -> int:
    """Worker processes for ``n_pages`` run pages: the usable cores (at most 4), 1 for few pages
    or where processes cannot be forked."""
    if n_pages < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_WORKERS))


def can_fork_workers() -> bool:
    """Whether this process may fork page workers: the platform forks, this is not a daemonic
    process (a pool worker may not start processes), and no other Python thread is running.

    A fork copies only the calling thread; objects the other threads were using are left half-way
    in the child, and CPython's garbage collector can crash on them there (seen with the OpenTelemetry
    thread ``pyannote.audio`` starts at import). Such a process renders its pages itself.
    """
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
        and threading.active_count() == 1
    )


# The state forked workers inherit (set just before the workers start, cleared after).
_SHARED: tuple[RunPages, Sequence[RunPageJob], int] | None = None


def _render_share(worker: int) -> int:
    assert _SHARED is not None, "run pages rendered outside RunPageRendering"
    pages, jobs, workers = _SHARED
    for job in jobs[worker::workers]:
        pages.render(job)
    return len(jobs[worker::workers])


def _worker_main(worker: int, conn: Connection) -> None:
    """A forked worker: render its share, send back the page count or the exception."""
    try:
        conn.send(("ok", _render_share(worker)))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        if sys.version_info >= (3, 11):  # add_note is new in 3.11; on 3.10 the exception goes back as it is
            exc.add_note(f"in run-page worker {worker}:\n{traceback.format_exc()}")
        try:
            conn.send(("error", exc))
        except Exception:  # noqa: BLE001 - an exception that does not pickle goes back as text
            conn.send(("error", RuntimeError(f"run-page worker {worker}: {type(exc).__name__}: {exc}")))
    finally:
        conn.close()


class RunPageRendering:
    """Renders every job's page, in ``workers`` forked processes when > 1 (None: :func:`auto_workers`),
    while the caller goes on with other pages::

        with RunPageRendering(pages, jobs) as rendering:
            ...  # other pages, in this process
            n = rendering.wait()

    Workers only render templates and write files (no database access). :meth:`wait` raises a
    worker's exception, or a ``RuntimeError`` naming a worker that died without one (killed by a
    signal, crashed); it never waits on a dead worker. Leaving the block early stops the workers.
    Where :func:`can_fork_workers` says no, the pages render in this process.
    """

    def __init__(self, pages: RunPages, jobs: Sequence[RunPageJob], workers: int | None = None) -> None:
        self.pages, self.jobs = pages, jobs
        self.workers = auto_workers(len(jobs)) if workers is None else max(1, workers)
        if len(jobs) < 2 or not can_fork_workers():
            self.workers = 1
        self._processes: dict[Connection, tuple[int, BaseProcess]] = {}
        self._done: int | None = None

    def __enter__(self) -> RunPageRendering:
        global _SHARED
        prepare_audio(_audio_sources(self.jobs))  # encoded in a few ffmpeg calls, before any worker starts
        if self.workers == 1:
            for job in self.jobs:
                self.pages.render(job)
            self._done = len(self.jobs)
            return self
        context = multiprocessing.get_context("fork")
        _SHARED = (self.pages, self.jobs, self.workers)
        try:
            for worker in range(self.workers):
                receiver, sender = context.Pipe(duplex=False)
                process = context.Process(target=_worker_main, args=(worker, sender), daemon=True)
                process.start()
                sender.close()  # the worker holds the sending end; its exit closes the pipe
                self._processes[receiver] = (worker, process)
        except BaseException:
            self._stop()
            raise
        finally:
            _SHARED = None  # the workers hold their own copy from the fork
        return self

    def wait(self) -> int:
        """Wait for the workers; the number of pages written."""
        if self._done is not None:
            return self._done
        done = 0
        try:
            while self._processes:
                for receiver in multiprocessing.connection.wait(list(self._processes)):
                    assert isinstance(receiver, Connection), "wait() returns the connections it was given"
                    worker, process = self._processes.pop(receiver)
                    try:
                        status, value = receiver.recv()
                    except EOFError:  # the worker ended without a word
                        process.join()
                        raise RuntimeError(
                            f"run-page worker {worker} (pid {process.pid}) died with {_exit_text(process.exitcode)} "
                            f"before sending its result; its {len(self.jobs[worker :: self.workers])} of the "
                            f"{len(self.jobs)} run pages may be missing"
                        ) from None
                    finally:
                        receiver.close()
                    if status == "error":
                        raise value
                    done += value
                    process.join()
        finally:
            self._stop()
        self._done = done
        return done

    def _stop(self) -> None:
        for receiver, (_, process) in self._processes.items():
            process.terminate()
            process.join()
            receiver.close()
        self._processes.clear()

    def __exit__(self, *exc: object) -> None:
        self._stop()


def _audio_sources(jobs: Sequence[RunPageJob]) -> list[str | None]:
    """The audio files the run pages will show (input and output audio of each page's detailed samples)."""
    return [row.get(key) for job in jobs for row in job.rows[:WORST_DETAILS] for key in ("audio_path", "artifact")]


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def render_run_pages(pages: RunPages, jobs: Sequence[RunPageJob], workers: int | None = None) -> int:
    """Render every job's page and return how many (see :class:`RunPageRendering`)."""
    with RunPageRendering(pages, jobs, workers) as rendering:
        return rendering.wait()


# --- parts of a page --------------------------------------------------------------------------
def sample_table(rows: Sequence[Mapping[str, Any]], primary: str | None) -> tuple[list[str], list[Markup]]:
    """The run page's sample table: column names and one ready ``<tr>`` per row.

    Rows are rendered here rather than cell by cell in Jinja: at 50 rows × ~20 columns × thousands
    of runs, per-cell template calls were most of a large site's build time. Texts are escaped.
    """
    keys: list[str] = []
    for row in rows:
        for k, v in row.items():
            if k in _SKIP_SAMPLE_COLUMNS or k in keys or v is None:
                continue
            keys.append(k)
    first = ["sample_id"] + ([primary] if primary in keys else [])
    gates = sorted(k for k in keys if k == "gates_passed" or k.startswith("gate_"))
    rest = [k for k in keys if k not in first and k not in gates and k not in ("error",)]
    order = first + rest + gates + (["error"] if "error" in keys else [])
    formatters = [number_formatter(k) for k in order]
    table = []
    for row in rows:
        cells = []
        for k, fmt in zip(order, formatters, strict=True):
            v = row.get(k)
            kind = type(v)
            if kind is bool:
                cells.append(_PASS_CELL if v else _FAIL_CELL)
            elif is_number(v):  # a finite int or float (bools are the branch above)
                # the formatter writes digits and units from the metric catalogue: nothing to escape
                cells.append(f'<td data-value="{float(v)}">{fmt(float(v))}</td>')
            else:
                text = "" if v is None else html.escape(str(v))
                cls = ' class="fail"' if k == "error" and text else ""
                cells.append(f'<td data-value="{text}"{cls}>{text}</td>')
        table.append(Markup(f"<tr>{''.join(cells)}</tr>"))
    return order, table


@functools.lru_cache(maxsize=1 << 16)
def normalised(name: str, text: str) -> str:
    """``text`` after the named normaliser (an unknown name leaves it as is). Cached: references
    repeat across every run on a dataset, and the whisper normaliser is costly per call."""
    from modellab.metrics.normalizers import get_normalizer

    try:
        return get_normalizer(name)(text)
    except ValueError:
        return text


def diff_html(ops: Sequence[DiffOp]) -> Markup:
    """A word diff as HTML: ``<span>`` equal, ``<del>`` reference only, ``<ins>`` hypothesis only
    (a substitution is both), texts escaped; built here rather than by a Jinja loop per word run,
    like :func:`sample_table`."""
    parts = []
    for op in ops:
        if op.op == "equal":
            parts.append(f"<span>{html.escape(op.ref)}</span> ")
        elif op.op == "sub":
            parts.append(f"<del>{html.escape(op.ref)}</del><ins>{html.escape(op.hyp)}</ins> ")
        elif op.op == "del":
            parts.append(f"<del>{html.escape(op.ref)}</del> ")
        else:
            parts.append(f"<ins>{html.escape(op.hyp)}</ins> ")
    return Markup("".join(parts))


def sample_details(
    rows: Sequence[Mapping[str, Any]],
    run: Mapping[str, Any],
    primary: str | None,
    media: Callable[[str | None], str | None],
    references: bool = False,
) -> list[dict[str, Any]]:
    """The worst samples of a run page: word diff after the run's normaliser, audio stored by ``media``,
    a speaker timeline for diarization outputs (with the reference lane when ``references``: the
    dataset's RTTMs are still those the run scored)."""
    name = str(run.get("normalizer") or "")
    details = []
    for row in rows[:WORST_DETAILS]:
        ref, hyp = row.get("reference"), row.get("hypothesis")
        diff = None
        if isinstance(ref, str) and isinstance(hyp, str):
            diff = word_diff(normalised(name, ref), normalised(name, hyp)) if name else word_diff(ref, hyp)
        artifact = row.get("artifact")
        audio = row.get("audio_path")
        timeline = None if isinstance(hyp, str) else speaker_timeline(row, run, references)
        details.append(
            {
                "row": row,
                "value": row.get(primary) if primary else None,
                "diff": diff_html(diff) if diff else None,
                "audio": media(audio if isinstance(audio, str) else None),
                "output_audio": media(artifact if isinstance(artifact, str) else None),
                "output": row.get("output") if not isinstance(hyp, str) and timeline is None else None,
                "timeline": timeline,
            }
        )
    return details


def speaker_timeline(row: Mapping[str, Any], run: Mapping[str, Any], references: bool) -> Markup | None:
    """A diarization sample's turns as a timeline (reference lane first when ``references``); None
    when its output holds no turns."""
    hyp = turns_from(row.get("output"))
    if hyp is None:
        return None
    duration = row.get("duration_s")
    ref = (
        reference_turns_for(
            str(run.get("dataset")), str(row.get("sample_id")), duration if is_number(duration) else None
        )
        if references
        else None
    )
    tracks = ([Track("Reference", ref)] if ref is not None else []) + [Track("Hypothesis", hyp)]
    return timeline_svg(tracks, float(duration) if is_number(duration) else None)


def _cards(task: str, run: Mapping[str, Any], directions: Mapping[str, bool | None]) -> list[tuple[str, float]]:
    """The run's headline numbers: the task's main metrics, gate pass rate and speed."""
    present = [k for k, v in run.items() if is_number(v) and k in directions]
    names = main_metrics(task, directions, present) + ["gate_pass_rate", *SPEED_METRICS]
    seen: list[str] = []
    for n in names:
        if n not in seen and is_number(run.get(n)):
            seen.append(n)
    return [(n, float(run[n])) for n in seen]


def _gate_options(run: Mapping[str, Any]) -> dict[str, Any]:
    config = run.get("config")
    if not isinstance(config, dict):
        return {}
    gates = ((config.get("task") or {}).get("options") or {}).get("gates")
    return gates if isinstance(gates, dict) else {}
