from promptflow import tool


@tool
def words(text: str):
    for w in text.split():
        yield w.upper() + " "
