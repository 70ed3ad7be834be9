"""weir's stand-in for prompt flow's package: the names a prompt flow tool
file imports resolve to weir's, so such a file runs unchanged under weir.
It is not prompt flow."""

from weir import log_metric, tool

__all__ = ["tool", "log_metric"]
