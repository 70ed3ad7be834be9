"""weir's stand-in for promptflow.contracts."""
