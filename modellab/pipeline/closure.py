"""Which source files a stage runs: the modellab modules it imports, followed transitively.

The one definition lives in :mod:`modellab.run.codehash` (it also fingerprints a cell's code for
the cell key and the sweep's cell index); this module names it for the pipeline.
"""

from __future__ import annotations

from modellab.run.codehash import PACKAGE, is_ours, module_file, source_closure

__all__ = ["PACKAGE", "is_ours", "module_file", "source_closure"]
