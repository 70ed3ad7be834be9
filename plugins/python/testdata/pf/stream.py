from promptflow import tool


@tool
def words(text: str):
    for w in text.split():
        yield w.upper() + " "


@tool
async def shout(text: str) -> str:
    return text.upper() + "!"


@tool
async def spell(text: str):
    for c in text:
        yield c + "."
