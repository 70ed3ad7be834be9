"""weir's stand-in for promptflow.contracts.types."""


class PromptTemplate(str):
    """A prompt template's text; weir passes it as a string."""


class Secret(str):
    """A secret value; weir passes it as a string."""
