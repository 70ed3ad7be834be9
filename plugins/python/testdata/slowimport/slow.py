"""A tool file whose import never ends."""
import time

from weir import tool

time.sleep(3600)


@tool
def never(text: str) -> str:
    """Never runs: its file's import does not end."""
    return text
