"""Tools of the Python test flow, written as prompt flow writes them."""
from typing import List

from promptflow.core import log_metric, tool


@tool
def normalize(text: str) -> str:
    """Lower-cases and trims an answer."""
    print(f"normalizing {len(text)} characters")
    return text.strip().lower()


@tool
def grade(answer: str, expected: str) -> dict:
    """Grades an answer against the expected one."""
    return {"grade": "right" if answer == expected else "wrong"}


@tool
def accuracy(grades: List[str]) -> float:
    """The share of right grades, logged as a metric."""
    value = round(sum(g == "right" for g in grades) / len(grades), 2)
    log_metric("accuracy", value)
    return value
