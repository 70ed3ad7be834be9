"""Connection classes with the names and fields prompt flow uses.

A flow passes a connection to a tool as a JSON object (its fields, usually
from ${secrets.x}); weir builds the class the parameter is annotated with
from it. Every field is an attribute and an item."""


class _Connection:
    _fields = ()

    def __init__(self, **fields):
        self._values = dict(fields)

    def __getattr__(self, name):
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    def __getitem__(self, key):
        return self._values[key]

    def __contains__(self, key):
        return key in self._values

    def get(self, key, default=None):
        return self._values.get(key, default)

    def keys(self):
        return self._values.keys()

    def items(self):
        return self._values.items()

    def __repr__(self):
        # Never the values: they are usually secrets.
        return f"{type(self).__name__}({', '.join(sorted(self._values))})"


class CustomConnection(_Connection):
    """Any fields. secrets and configs, when given as objects, are also
    reachable one level up: conn.api_key for {"secrets": {"api_key": ...}}."""

    def __init__(self, secrets=None, configs=None, **fields):
        merged = {}
        merged.update(configs or {})
        merged.update(secrets or {})
        merged.update(fields)
        super().__init__(**merged)
        self._values["secrets"] = dict(secrets or {})
        self._values["configs"] = dict(configs or {})


class AzureOpenAIConnection(_Connection):
    def __init__(self, api_key=None, api_base=None, api_type="azure", api_version=None, **fields):
        super().__init__(api_key=api_key, api_base=api_base, api_type=api_type, api_version=api_version, **fields)


class OpenAIConnection(_Connection):
    def __init__(self, api_key=None, organization=None, base_url=None, **fields):
        super().__init__(api_key=api_key, organization=organization, base_url=base_url, **fields)


def build(class_names, value):
    """Returns the connection a parameter annotated with class_names (one
    class, or a union as "A|B") gets for the JSON value the flow passed: an
    object becomes the class, anything else is passed as it is. Of a
    union, the class is the one the object's fields fit: a custom
    connection's configs and secrets, Azure's api_type "azure", else
    OpenAI's."""
    if not isinstance(value, dict):
        return value
    names = class_names.split("|")
    if len(names) > 1:
        if "configs" in value or "secrets" in value:
            fit = "CustomConnection"
        elif value.get("api_type") == "azure":
            fit = "AzureOpenAIConnection"
        else:
            fit = "OpenAIConnection"
        class_name = fit if fit in names else names[0]
    else:
        class_name = names[0]
    cls = {
        "AzureOpenAIConnection": AzureOpenAIConnection,
        "OpenAIConnection": OpenAIConnection,
    }.get(class_name, CustomConnection)
    return cls(**value)
