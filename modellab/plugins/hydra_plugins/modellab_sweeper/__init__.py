"""Hydra's basic sweeper, plus: jobs whose cell is unchanged and stored are skipped before they
are composed (see :mod:`modellab.run.cellindex`). The default sweeper of ``conf/config.yaml``;
``hydra/sweeper=basic`` turns it off.

This directory (``modellab/plugins``) is put on ``sys.path`` by ``python -m modellab`` so that
Hydra's plugin scan finds it in the ``hydra_plugins`` namespace, however modellab is installed.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

__all__ = ["ModellabSweeper"]

log = logging.getLogger(__name__)


class ModellabSweeper(BasicSweeper):
    def _results_dir(self, job: list[str]) -> str:
        for override in job:
            key, _, value = override.partition("=")
            if key.lstrip("+~") == "results_dir":
                return value
        assert self.config is not None
        return str(self.config.results_dir)

    def _unchanged(self, batch: list[list[str]]) -> list[list[str]]:
        """The jobs of ``batch`` that must run; the others are reported as reused."""
        from modellab.run.cellindex import forces, job_key, lookup, source_dirs

        assert self.config is not None
        dirs = source_dirs(self.config.hydra)
        remaining = []
        for job in batch:
            plain = [o for o in job if o.partition("=")[0].lstrip("+~") != "force"]
            entry = None if any(forces(o) for o in job) else lookup(self._results_dir(job), job_key(plain, dirs))
            if entry is None:
                remaining.append(job)
            else:
                log.info(
                    "[modellab] %s: unchanged, reusing run %s (force=true to recompute)",
                    entry["label"],
                    entry["run_id"],
                )
        return remaining

    def sweep(self, arguments: list[str]) -> Any:
        assert self.config is not None
        assert self.launcher is not None
        assert self.hydra_context is not None

        params_conf = self._parse_config()
        params_conf.extend(arguments)
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides(params_conf)
        self.overrides = self.split_arguments(overrides, self.max_batch_size)
        returns = []

        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        initial_job_idx = 0
        while not self.is_done():
            batch = self._unchanged([list(job) for job in self.get_job_batch()])
            if not batch:
                continue
            tic = time.perf_counter()
            self.validate_batch_is_legal(batch)
            log.debug(f"Validated configs of {len(batch)} jobs in {time.perf_counter() - tic:0.2f} seconds")
            results = self.launcher.launch(batch, initial_job_idx=initial_job_idx)
            for r in results:
                _ = r.return_value  # raises if the job failed
            initial_job_idx += len(batch)
            returns.append(results)
        return returns
