"""weir's stand-in for promptflow.core."""

from weir import log_metric, tool

__all__ = ["tool", "log_metric"]
