"""modellab: a declarative, config-driven benchmark lab for speech models."""

__version__ = "0.1.0"
__all__ = ["__version__"]
