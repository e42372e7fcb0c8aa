"""Results: the Parquet store and its DuckDB views."""

from modellab.results.store import ResultsStore, default_results_dir
from modellab.results.views import connect

__all__ = ["ResultsStore", "connect", "default_results_dir"]
