from weir import tool


@tool
def broken(x: int) -> int:
    return x +
