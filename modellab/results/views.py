"""DuckDB views over the Parquet store: ``runs`` (with main metrics pivoted in), ``samples``, ``metrics``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from modellab.results.store import ResultsStore

if TYPE_CHECKING:
    import duckdb

__all__ = ["connect"]


def _glob(store: ResultsStore, table: str) -> str:
    return str(store.root / table / "*.parquet").replace("'", "''")


def connect(results_dir: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the views ``runs``, ``samples``, ``metrics``.

    ``runs`` joins each run row with its metrics pivoted to columns (``wer``, ``rtfx``, ...).
    ``samples`` and ``metrics`` only show rows of complete runs (those with a runs row).
    """
    import duckdb  # here, not at import: a run that only writes its rows never loads DuckDB

    store = ResultsStore(results_dir)
    con = duckdb.connect()
    if not store.has_table("runs"):
        con.execute("CREATE VIEW runs_raw AS SELECT NULL::VARCHAR AS run_id WHERE false")
    else:
        con.execute(f"CREATE VIEW runs_raw AS SELECT * FROM read_parquet('{_glob(store, 'runs')}', union_by_name=true)")
    if store.has_table("metrics"):
        con.execute(
            f"CREATE VIEW metrics AS SELECT m.* FROM read_parquet('{_glob(store, 'metrics')}', union_by_name=true) m "
            "WHERE m.run_id IN (SELECT run_id FROM runs_raw)"
        )
        names = [r[0] for r in con.execute("SELECT DISTINCT name FROM metrics ORDER BY name").fetchall()]
    else:
        con.execute(
            "CREATE VIEW metrics AS SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS name, "
            "NULL::DOUBLE AS value, NULL::BOOLEAN AS higher_is_better WHERE false"
        )
        names = []
    if store.has_table("samples"):
        con.execute(
            f"CREATE VIEW samples AS SELECT s.* FROM read_parquet('{_glob(store, 'samples')}', union_by_name=true) s "
            "WHERE s.run_id IN (SELECT run_id FROM runs_raw)"
        )
    else:
        con.execute("CREATE VIEW samples AS SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS sample_id WHERE false")
    if store.has_table("ratings"):  # listening-test ratings (modellab.analysis.mos), only where some were ingested
        con.execute(
            f"CREATE VIEW ratings AS SELECT * FROM read_parquet('{_glob(store, 'ratings')}', union_by_name=true)"
        )
    raw_cols = {r[0] for r in con.execute("DESCRIBE runs_raw").fetchall()}
    pivot = ", ".join(
        f"max(value) FILTER (WHERE name = '{n.replace(chr(39), '')}') AS \"{n}\"" for n in names if n not in raw_cols
    )
    if pivot:
        con.execute(
            f"CREATE VIEW runs AS SELECT r.*, p.* EXCLUDE (run_id) FROM runs_raw r "
            f"LEFT JOIN (SELECT run_id, {pivot} FROM metrics GROUP BY run_id) p USING (run_id)"
        )
    else:
        con.execute("CREATE VIEW runs AS SELECT * FROM runs_raw")
    return con
