"""weir's stand-in for promptflow.tracing: weir traces every node with
OpenTelemetry itself, so @trace and start_trace do nothing here."""

__all__ = ["trace", "start_trace"]


def trace(func=None, **_options):
    """Marks a function to trace: @trace or @trace(...). The function is
    returned unchanged."""
    if func is None:
        return lambda f: f
    return func


def start_trace(*_args, **_kwargs):
    """Does nothing: weir's traces go where OTEL_* variables say."""
