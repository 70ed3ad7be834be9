from weir import tool


@tool
def clean(x: str) -> str:
    return x.strip()
