from weir import tool


@tool
def other(x: str) -> str:
    return x


@tool
def clean(x: str) -> str:
    return x.lower()
