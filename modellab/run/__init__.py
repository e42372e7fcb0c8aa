"""Running cells: the runner loop, its journal and recorder, sweep and cache bookkeeping,
provenance, the default lab sweeps and rescoring of stored runs."""
