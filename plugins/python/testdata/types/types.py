from dataclasses import dataclass
from typing import Dict, List, Literal, Optional, TypedDict

from weir import tool


class Answer(TypedDict):
    text: str
    score: float


@dataclass
class Point:
    x: int
    y: int = 0


@tool
def typed(
    name: str,
    count: int,
    ratio: float,
    flag: bool,
    items: List[str],
    table: Dict[str, int],
    maybe: Optional[int],
    mode: Literal["fast", "slow"] = "fast",
    point: Point = None,
    plain: list = [],
    anything=None,
) -> Answer:
    """Shows how hints map to JSON Schema.

    :param name: who asks
    """
    return {"text": name, "score": ratio}


@tool
def untyped(a, b=2, **more):
    return [a, b, more]


@tool
def point(p: Point) -> Point:
    return Point(p["x"] + 1, p["y"])
