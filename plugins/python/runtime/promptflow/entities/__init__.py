"""weir's stand-in for promptflow.entities: its connection classes."""

from weir.connections import AzureOpenAIConnection, CustomConnection, OpenAIConnection

__all__ = ["CustomConnection", "AzureOpenAIConnection", "OpenAIConnection"]
