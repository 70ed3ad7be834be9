# Connection parameters as prompt flow's examples annotate them: one class,
# a union of classes, an optional one.
from typing import Optional, Union

from promptflow.connections import AzureOpenAIConnection, CustomConnection, OpenAIConnection
from promptflow.core import tool


@tool
def which(model: Union[AzureOpenAIConnection, OpenAIConnection], other: Optional[CustomConnection] = None, third: "OpenAIConnection | None" = None):
    return [type(c).__name__ for c in (model, other, third) if c is not None]
