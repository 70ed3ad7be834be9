"""weir's stand-in for promptflow.connections."""

from weir.connections import AzureOpenAIConnection, CustomConnection, OpenAIConnection

__all__ = ["CustomConnection", "AzureOpenAIConnection", "OpenAIConnection"]
