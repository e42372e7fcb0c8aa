"""Generated-block definitions (``conf/report/default.yaml``): what each block shows and what it depends on.

A block is a ``store`` block (a DuckDB query over the results views, the latest complete run of
each ``latest_by`` group kept), a ``json`` block (rows read from recorded files such as
``benchmarks/results/*.json``) or a ``paired`` block (one row per named pair of runs: the paired
bootstrap of ``python -m modellab compare``). Its ``columns`` are a header and a Python format string
over a row. ``source`` (per block, or once at the top of the file) is the command that produces the
block's runs: the stamp names it, and ``report`` names it when the store lacks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from modellab.config import CONF_DIR, ConfigError
from modellab.config.schema import check_mapping

__all__ = ["BLOCKS_DIR", "DEFAULT_BLOCKS", "Block", "Column", "JsonRow", "Pair", "default_block_files", "load_blocks"]

BLOCKS_DIR = CONF_DIR / "report"
DEFAULT_BLOCKS = BLOCKS_DIR / "default.yaml"
KINDS = ("store", "json", "paired")
_KEYS = {"name", "file", "kind", "description", "query", "latest_by", "columns", "deps", "rows", "pairs", "source"}
_PAIR_KEYS = {"label", "baseline", "candidate", "dataset", "metric", "scale", "resamples", "seed"}


@dataclass(frozen=True)
class Column:
    header: str
    value: str  # a str.format template over the row, e.g. "{wer:.1f} [{wer_ci_low:.1f}, {wer_ci_high:.1f}]"


@dataclass(frozen=True)
class JsonRow:
    source: str  # a recorded JSON file, relative to the repository root; "" for a row of fixed text
    cells: dict[str, str]  # column header -> template over the file's top-level keys


@dataclass(frozen=True)
class Pair:
    """Two runs compared as ``python -m modellab compare BASELINE CANDIDATE --dataset DATASET`` does."""

    label: str
    baseline: str  # a run id or MODEL[:KEY=VALUE...] (the latest complete run on ``dataset``)
    candidate: str
    dataset: str
    metric: str  # the metric whose paired difference (candidate - baseline) the row shows
    scale: float = 1.0  # values and difference times this (100: a rate in percentage points)
    resamples: int = 1000  # compare's defaults
    seed: int = 0

    def definition(self) -> list[Any]:
        return [
            self.label,
            self.baseline,
            self.candidate,
            self.dataset,
            self.metric,
            self.scale,
            self.resamples,
            self.seed,
        ]


@dataclass(frozen=True)
class Block:
    name: str
    file: str  # README.md or docs/NAME.md, relative to the repository root
    kind: str
    columns: list[Column]
    deps: list[str]
    query: str = ""
    latest_by: list[str] = field(default_factory=list)
    rows: list[JsonRow] = field(default_factory=list)
    description: str = ""
    pairs: list[Pair] = field(default_factory=list)
    source: str = ""  # the command that produces the block's runs, e.g. python -m modellab lab --config ...

    def definition(self) -> dict[str, Any]:
        """The block's definition as plain data (part of its deps fingerprint)."""
        found: dict[str, Any] = {
            "name": self.name,
            "file": self.file,
            "kind": self.kind,
            "query": " ".join(self.query.split()),
            "latest_by": self.latest_by,
            "columns": [[c.header, c.value] for c in self.columns],
            "rows": [[r.source, r.cells] for r in self.rows],
        }
        if self.pairs:
            found["pairs"] = [p.definition() for p in self.pairs]
        if self.source:
            found["source"] = self.source
        return found


def _columns(raw: Any, where: str) -> list[Column]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: 'columns' must be a non-empty list of {{header, value}}")
    out = []
    for i, col in enumerate(raw):
        if not isinstance(col, dict) or not col.get("header") or "value" not in col:
            raise ConfigError(f"{where}: columns[{i}] needs 'header' and 'value'")
        out.append(Column(str(col["header"]), str(col["value"])))
    return out


def _json_rows(raw: Any, where: str) -> list[JsonRow]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: a json block needs a non-empty 'rows' list of {{source, ...}}")
    out = []
    for i, row in enumerate(raw):
        if not isinstance(row, dict):
            raise ConfigError(f"{where}: rows[{i}] must be a mapping (source: a JSON file, or none for a fixed row)")
        cells = {str(k): str(v) for k, v in row.items() if k != "source"}
        out.append(JsonRow(str(row.get("source") or ""), cells))
    return out


def _pair(raw: Any, where: str) -> Pair:
    raw = check_mapping(raw, where, _PAIR_KEYS, ("label", "baseline", "candidate", "dataset", "metric"))
    try:
        scale, resamples, seed = float(raw.get("scale", 1.0)), int(raw.get("resamples", 1000)), int(raw.get("seed", 0))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: scale, resamples and seed must be numbers ({exc})") from exc
    return Pair(
        label=str(raw["label"]),
        baseline=str(raw["baseline"]),
        candidate=str(raw["candidate"]),
        dataset=str(raw["dataset"]),
        metric=str(raw["metric"]),
        scale=scale,
        resamples=resamples,
        seed=seed,
    )


def _pairs(raw: Any, where: str) -> list[Pair]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            f"{where}: a paired block needs a non-empty 'pairs' list of {{label, baseline, candidate, ...}}"
        )
    return [_pair(item, f"{where}: pairs[{i}]") for i, item in enumerate(raw)]


def _block(raw: Any, where: str, source: str = "") -> Block:
    raw = check_mapping(raw, where, _KEYS, ("name", "file", "columns", "deps"))
    kind = str(raw.get("kind", "store"))
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind == "store" and not raw.get("query"):
        raise ConfigError(f"{where}: a store block needs a 'query' (SQL over runs, samples, metrics, report_runs)")
    columns = _columns(raw["columns"], where)
    rows = _json_rows(raw.get("rows"), where) if kind == "json" else []
    pairs = _pairs(raw.get("pairs"), where) if kind == "paired" else []
    return Block(
        name=str(raw["name"]),
        file=str(raw["file"]),
        kind=kind,
        columns=columns,
        deps=[str(d) for d in raw["deps"]],
        query=str(raw.get("query") or ""),
        latest_by=[str(k) for k in raw.get("latest_by") or []],
        rows=rows,
        description=str(raw.get("description") or ""),
        pairs=pairs,
        source=str(raw.get("source") or source),
    )


def default_block_files() -> list[Path]:
    """Every definitions file of ``conf/report/``: default.yaml (the default sweep's blocks) first."""
    return sorted(BLOCKS_DIR.glob("*.yaml"), key=lambda p: (p != DEFAULT_BLOCKS, p.name))


def _file_blocks(path: str | Path) -> list[Block]:
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except (OSError, OmegaConfBaseException, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    items = raw.get("blocks") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"{path}: needs a 'blocks' list")
    source = str(raw.get("source") or "") if isinstance(raw, dict) else ""
    return [_block(item, f"{path}: blocks[{i}]", source) for i, item in enumerate(items)]


def load_blocks(path: str | Path | list[str | Path] | None = None) -> list[Block]:
    """The blocks of one or more definitions files (default: every file of ``conf/report/``), in file
    order; names are unique across them. A file's top-level ``source`` is the default of its blocks'."""
    paths = default_block_files() if path is None else path if isinstance(path, list) else [path]
    blocks = [block for p in paths for block in _file_blocks(p)]
    names = [b.name for b in blocks]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        where = ", ".join(str(p) for p in paths)
        raise ConfigError(f"{where}: block names used twice: {', '.join(twice)}")
    return blocks
