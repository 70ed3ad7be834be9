from weir import tool


@tool
def fine(x: int) -> int:
    return x
