"""The support desk's tools for the triage flow."""

import re
from typing import TypedDict

from weir import log_metric, tool

CATEGORIES = ("billing", "bug", "other")


class Cleaned(TypedDict):
    text: str
    words: int


@tool
def clean(text: str) -> Cleaned:
    """Collapses the whitespace of a ticket and counts its words."""
    words = text.split()
    return {"text": " ".join(words), "words": len(words)}


@tool
def label(answer: str) -> str:
    """Maps a model's answer to a category: the last category word in it,
    or "other"."""
    found = [w for w in re.findall(r"[a-z]+", answer.lower()) if w in CATEGORIES]
    return found[-1] if found else "other"


@tool
def tally(labels: list) -> dict:
    """Counts the tickets of each category over a batch, and logs each
    count as a metric."""
    counts = {c: 0 for c in CATEGORIES}
    for name in labels:
        if name in counts:
            counts[name] += 1
    for name, n in counts.items():
        log_metric(name, n)
    return counts
