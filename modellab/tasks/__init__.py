"""Tasks: one base class, one module per task type."""

from modellab.tasks.base import CapabilityError, Metric, SampleRecord, Scores, Task

__all__ = ["CapabilityError", "Metric", "SampleRecord", "Scores", "Task"]
