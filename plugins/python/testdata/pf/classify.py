# A tool file as prompt flow's examples write them: it runs under weir
# unchanged.
from typing import List

from promptflow.connections import CustomConnection
from promptflow.core import log_metric, tool


@tool
def classify(text: str, labels: List[str], conn: CustomConnection, threshold: float = 0.5) -> str:
    """Picks the first label that appears in the text.

    :param text: the text to classify
    :param labels: the labels to look for
    """
    for label in labels:
        if label in text.lower():
            return label
    return conn.fallback


@tool
def accuracy(grades: List[str]) -> dict:
    """Aggregates grades."""
    right = sum(1 for g in grades if g == "right")
    log_metric("accuracy", round(right / len(grades), 2))
    return {"count": len(grades)}
