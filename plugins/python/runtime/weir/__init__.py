"""weir's module for Python tools.

A tool is a function marked with @tool in a file of a flow's `python:`
plugin. weir reads its contract from the source (type hints, defaults, the
docstring) and runs it in a pool of interpreter processes. This module
ships inside the weir binary; nothing needs to be installed.
"""

__all__ = [
    "tool",
    "log_metric",
    "Retryable",
    "CustomConnection",
    "AzureOpenAIConnection",
    "OpenAIConnection",
]

from weir.connections import AzureOpenAIConnection, CustomConnection, OpenAIConnection

# The metrics of the call under way: the runner sets a fresh dict before
# each call and reads it after.
_metrics = None


def tool(func=None, **_options):
    """Marks a function as a tool: @tool, or @tool(name=...) as prompt flow
    writes it (weir names a tool after its function; options are ignored).
    The function is returned unchanged: calling it in-process costs nothing."""
    if func is None:
        return lambda f: tool(f)
    func.__weir_tool__ = True
    return func


def log_metric(key, value, variant_id=None):
    """Records a metric of the call: weir puts the metrics a call logged
    under "metrics" in its output, the last value of each key. variant_id
    is accepted for prompt flow's sake and ignored."""
    if not isinstance(key, str):
        raise TypeError("log_metric: the key must be a str, not " + type(key).__name__)
    if _metrics is not None:
        _metrics[key] = value


class Retryable(Exception):
    """Raised by a tool, fails the call as retryable: the engine retries the
    node when it has attempts left. Any other exception fails it for good."""
