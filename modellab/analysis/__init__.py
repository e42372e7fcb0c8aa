"""Analysis of stored results: run data, compare, gates, pinned baselines, promotion, findings
and MOS ingestion."""
