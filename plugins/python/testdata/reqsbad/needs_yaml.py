import yaml

from weir import tool


@tool
def load(text: str) -> dict:
    return yaml.safe_load(text)
