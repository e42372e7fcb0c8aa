"""Generated-block definitions (``conf/report/default.yaml``): what each block shows and what it depends on.

A block is either a ``store`` block (a DuckDB query over the results views, the latest complete run of
each ``latest_by`` group kept) or a ``json`` block (rows read from recorded files such as
``benchmarks/results/*.json``). Its ``columns`` are a header and a Python format string over a row.
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

__all__ = ["DEFAULT_BLOCKS", "Block", "Column", "JsonRow", "load_blocks"]

DEFAULT_BLOCKS = CONF_DIR / "report" / "default.yaml"
KINDS = ("store", "json")
_KEYS = {"name", "file", "kind", "description", "query", "latest_by", "columns", "deps", "rows"}


@dataclass(frozen=True)
class Column:
    header: str
    value: str  # a str.format template over the row, e.g. "{wer:.1f} [{wer_ci_low:.1f}, {wer_ci_high:.1f}]"


@dataclass(frozen=True)
class JsonRow:
    source: str  # a recorded JSON file, relative to the repository root; "" for a row of fixed text
    cells: dict[str, str]  # column header -> template over the file's top-level keys


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

    def definition(self) -> dict[str, Any]:
        """The block's definition as plain data (part of its deps fingerprint)."""
        return {
            "name": self.name,
            "file": self.file,
            "kind": self.kind,
            "query": " ".join(self.query.split()),
            "latest_by": self.latest_by,
            "columns": [[c.header, c.value] for c in self.columns],
            "rows": [[r.source, r.cells] for r in self.rows],
        }


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


def _block(raw: Any, where: str) -> Block:
    raw = check_mapping(raw, where, _KEYS, ("name", "file", "columns", "deps"))
    kind = str(raw.get("kind", "store"))
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind == "store" and not raw.get("query"):
        raise ConfigError(f"{where}: a store block needs a 'query' (SQL over runs, samples, metrics, report_runs)")
    columns = _columns(raw["columns"], where)
    rows = _json_rows(raw.get("rows"), where) if kind == "json" else []
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
    )


def load_blocks(path: str | Path = DEFAULT_BLOCKS) -> list[Block]:
    """The blocks of one definitions file, in file order; names are unique."""
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except (OSError, OmegaConfBaseException, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    items = raw.get("blocks") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"{path}: needs a 'blocks' list")
    blocks = [_block(item, f"{path}: blocks[{i}]") for i, item in enumerate(items)]
    names = [b.name for b in blocks]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{path}: block names used twice: {', '.join(twice)}")
    return blocks
