"""The DVC pipeline: ``dvc.yaml`` generated from ``conf/`` and the commands its stages run."""

from modellab.pipeline.stages import LAB_CONFIG, PipelineError, expand_sweep, lab_sweeps, pipeline, render

__all__ = ["LAB_CONFIG", "PipelineError", "expand_sweep", "lab_sweeps", "pipeline", "render"]
