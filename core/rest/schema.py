"""Typed JSON schemas for the REST API: one declaration both checks what a
client sent and describes it in the OpenAPI document.

A schema is built from a few small types and used by :func:`core.rest.operation`::

    from core import api_schema as s

    CONTENT_INPUT = s.Object({
        "title": s.String(max_length=500),
        "score": s.Integer(minimum=-1000000, maximum=1000000),
        "tags": s.Array(s.String(max_length=100), max_items=20),
    }, required=("title",))

``validate(value)`` returns the value (query text converted to its type) or
raises :class:`SchemaError` whose ``errors`` map a field path (``tags[2]``,
``fields.zone``) to a message, every problem at once. ``json_schema(components)``
returns the OpenAPI 3.1 (JSON Schema 2020-12) form; a :class:`Named` schema is
put once under ``components.schemas`` and referenced.

Business rules that need the database (a unique email, a known owner) stay
with the feature and answer 422 the same way; these types only keep wrong
shapes out, so no view ever sees a dict where it expects a list.
"""
from __future__ import annotations

import math
import re

# PostgreSQL's ``serial`` primary keys: an id outside this range can't exist
# (and would overflow SQLite's or PostgreSQL's integer instead of being "not found").
MAX_ID = 2**31 - 1
# SQLite and PostgreSQL ``bigint``: any integer stored or compared beyond this overflows.
MAX_INT = 2**63 - 1


class SchemaError(ValueError):
    """Values that don't match their schema; ``errors`` maps a path to a message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{path or 'body'}: {message}" for path, message in errors.items()))


def _storable(text: str) -> bool:
    """Text both databases can store: PostgreSQL refuses NUL, and a lone
    surrogate (``"\\ud800"`` is valid JSON) cannot be encoded."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


class Schema:
    """Base of every type: ``nullable`` accepts ``null``, ``description`` and
    ``example`` go to the document."""

    type_name = ""

    def __init__(self, *, nullable: bool = False, description: str = "", example=None):
        self.nullable = nullable
        self.description = description
        self.example = example

    # -- checking ------------------------------------------------------------
    def validate(self, value, path: str = ""):
        """The checked value, or :class:`SchemaError`."""
        errors: dict[str, str] = {}
        value = self.check(value, path, errors)
        if errors:
            raise SchemaError(errors)
        return value

    def check(self, value, path: str, errors: dict):
        if value is None:
            if not self.nullable:
                errors[path] = "must not be null"
            return None
        return self.check_value(value, path, errors)

    def check_value(self, value, path: str, errors: dict):
        return value

    def from_text(self, text: str, path: str, errors: dict):
        """A query-string or path value (always text) converted, then checked."""
        return self.check(text, path, errors)

    # -- describing ----------------------------------------------------------
    def json_schema(self, components: dict) -> dict:
        schema = self.describe(components)
        if self.nullable:
            schema = _nullable(schema)
        if self.description:
            schema["description"] = self.description
        if self.example is not None:
            schema["examples"] = [self.example]
        return schema

    def describe(self, components: dict) -> dict:
        return {"type": self.type_name} if self.type_name else {}


def _nullable(schema: dict) -> dict:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
        return schema
    if isinstance(kind, list):
        schema["type"] = [*kind, "null"] if "null" not in kind else kind
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


class String(Schema):
    """Text. ``enum`` limits it to some values; ``format`` is descriptive
    (``email``, ``uri``, ``date-time``); ``pattern`` is a regular expression."""

    type_name = "string"

    def __init__(self, *, min_length: int = 0, max_length: int | None = None, enum=None, format: str = "",
                 pattern: str = "", **options):
        super().__init__(**options)
        self.min_length, self.max_length, self.enum = min_length, max_length, tuple(enum) if enum else None
        self.format, self.pattern = format, pattern

    def check_value(self, value, path, errors):
        if not isinstance(value, str):
            errors[path] = "must be a string"
            return value
        if not _storable(value):
            errors[path] = "must be text without NUL characters or lone surrogates"
        elif self.enum is not None and value not in self.enum:
            errors[path] = "must be one of: " + ", ".join(self.enum)
        elif len(value) < self.min_length:
            errors[path] = "must not be empty" if self.min_length == 1 else \
                f"must have at least {self.min_length} characters"
        elif self.max_length is not None and len(value) > self.max_length:
            errors[path] = f"must have at most {self.max_length} characters"
        elif self.pattern and not re.search(self.pattern, value):
            errors[path] = f"must match {self.pattern}"
        return value

    def describe(self, components):
        schema = {"type": "string"}
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.min_length:
            schema["minLength"] = self.min_length
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.format:
            schema["format"] = self.format
        if self.pattern:
            schema["pattern"] = self.pattern
        return schema


class Integer(Schema):
    """A whole number (never a boolean) between ``minimum`` and ``maximum``,
    by default what the database can store."""

    type_name = "integer"

    def __init__(self, *, minimum: int | None = -MAX_INT, maximum: int | None = MAX_INT, **options):
        super().__init__(**options)
        self.minimum, self.maximum = minimum, maximum

    def check_value(self, value, path, errors):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            errors[path] = "must be a whole number"
            return value
        if self.minimum is not None and value < self.minimum:
            errors[path] = f"must be at least {self.minimum}"
        elif self.maximum is not None and value > self.maximum:
            errors[path] = f"must be at most {self.maximum}"
        return value

    def from_text(self, text, path, errors):
        if isinstance(text, str) and re.fullmatch(r"-?[0-9]{1,30}", text.strip()):
            return self.check(int(text.strip()), path, errors)
        if isinstance(text, str) and text.strip():
            errors[path] = "must be a whole number"
            return text
        return self.check(text, path, errors)

    def describe(self, components):
        schema = {"type": "integer"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


class Number(Schema):
    """Any finite number (never a boolean)."""

    type_name = "number"

    def check_value(self, value, path, errors):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (isinstance(value, float) and not math.isfinite(value)):
            errors[path] = "must be a number"
        return value


class Boolean(Schema):
    """``true`` or ``false`` (in a query string: 1/0, true/false)."""

    type_name = "boolean"

    def check_value(self, value, path, errors):
        if not isinstance(value, bool):
            errors[path] = "must be true or false"
        return value

    def from_text(self, text, path, errors):
        words = {"1": True, "true": True, "0": False, "false": False}
        if isinstance(text, str) and text.strip().lower() in words:
            return words[text.strip().lower()]
        errors[path] = "must be true or false (1 or 0)"
        return text


class Array(Schema):
    """A list whose every item matches ``items``."""

    type_name = "array"

    def __init__(self, items: Schema, *, min_items: int = 0, max_items: int | None = None, **options):
        super().__init__(**options)
        self.items, self.min_items, self.max_items = items, min_items, max_items

    def check_value(self, value, path, errors):
        if not isinstance(value, list):
            errors[path] = "must be a list"
            return value
        if len(value) < self.min_items:
            errors[path] = f"must have at least {self.min_items} item(s)"
            return value
        if self.max_items is not None and len(value) > self.max_items:
            errors[path] = f"must have at most {self.max_items} items"
            return value
        return [self.items.check(item, _join(path, index), errors) for index, item in enumerate(value)]

    def describe(self, components):
        schema = {"type": "array", "items": self.items.json_schema(components)}
        if self.min_items:
            schema["minItems"] = self.min_items
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return schema


class Object(Schema):
    """A JSON object with known ``properties``; ``required`` names those that
    must be present; ``additional`` is the schema of other keys (refused when None)."""

    type_name = "object"

    def __init__(self, properties: dict[str, Schema] | None = None, *, required=(), additional: Schema | None = None,
                 max_properties: int | None = None, **options):
        super().__init__(**options)
        self.properties, self.required = dict(properties or {}), tuple(required)
        self.additional, self.max_properties = additional, max_properties

    def check_value(self, value, path, errors):
        if not isinstance(value, dict):
            errors[path] = "must be an object"
            return value
        if self.max_properties is not None and len(value) > self.max_properties:
            errors[path] = f"must have at most {self.max_properties} keys"
            return value
        checked = {}
        for key in self.required:
            if key not in value:
                errors[_join(path, key)] = "is required"
        for key, item in value.items():
            schema = self.properties.get(key, self.additional)
            if not _storable(key):
                errors[path or "body"] = "keys must be text without NUL characters or lone surrogates"
                continue
            if schema is None:
                errors[_join(path, key)] = "is not a known property"
                continue
            checked[key] = schema.check(item, _join(path, key), errors)
        return checked

    def describe(self, components):
        schema: dict = {"type": "object"}
        if self.properties:
            schema["properties"] = {key: item.json_schema(components) for key, item in self.properties.items()}
        if self.required:
            schema["required"] = list(self.required)
        schema["additionalProperties"] = self.additional.json_schema(components) if self.additional else False
        if self.max_properties is not None:
            schema["maxProperties"] = self.max_properties
        return schema


class OneOf(Schema):
    """A value matching one of several schemas, tried in order (e.g. a text
    or a list of texts)."""

    def __init__(self, *choices: Schema, **options):
        super().__init__(**options)
        self.choices = choices

    def check(self, value, path, errors):
        if value is None and self.nullable:
            return None
        for choice in self.choices:
            attempt: dict[str, str] = {}
            checked = choice.check(value, path, attempt)
            if not attempt:
                return checked
        errors[path] = "must be " + " or ".join(_kind(choice) for choice in self.choices)
        return value

    def describe(self, components):
        return {"anyOf": [choice.json_schema(components) for choice in self.choices]}


def _kind(schema: Schema) -> str:
    names = {"string": "a string", "integer": "a whole number", "number": "a number", "boolean": "true or false",
             "array": "a list", "object": "an object"}
    return names.get(schema.type_name, "a value")


class Anything(Schema):
    """Any JSON value (its meaning given by ``description``) whose texts can
    be stored; nesting is already bounded by the request parser."""

    def check(self, value, path, errors):
        stack = [value]
        while stack:
            item = stack.pop()
            texts = [item] if isinstance(item, str) else list(item) if isinstance(item, dict) else []
            if not all(_storable(text) for text in texts):
                errors[path or "body"] = "must not contain NUL characters or lone surrogates"
                break
            if isinstance(item, (dict, list)):
                stack.extend(item.values() if isinstance(item, dict) else item)
        return value


class Named(Schema):
    """A schema listed once under ``components.schemas`` as ``name`` and
    referenced wherever it is used."""

    def __init__(self, name: str, schema: Schema):
        super().__init__()
        self.name, self.schema = name, schema

    def check(self, value, path, errors):
        return self.schema.check(value, path, errors)

    def from_text(self, text, path, errors):
        return self.schema.from_text(text, path, errors)

    def json_schema(self, components):
        if self.name not in components:
            components[self.name] = {}  # reserve the name: a schema may refer to itself
            components[self.name] = self.schema.json_schema(components)
        return {"$ref": f"#/components/schemas/{self.name}"}


# Shared shapes --------------------------------------------------------------------

ID = Integer(minimum=1, maximum=MAX_ID)
DATETIME = String(format="date-time")
ERROR = Named("Error", Object({
    "error": String(description="A short code: invalid, not_found, unauthorized, forbidden, conflict..."),
    "message": String(description="What went wrong, for a person."),
    "errors": Object(additional=String(), description="A message per field (path such as tags[1] or fields.zone)."),
}, required=("error",), additional=Anything()))


def page_of(items: Schema) -> Object:
    """The body of a paginated listing."""
    return Object({"total": Integer(minimum=0), "limit": Integer(minimum=1), "offset": Integer(minimum=0),
                   "items": Array(items)}, required=("total", "limit", "offset", "items"))


PAGINATION = {
    "limit": Integer(minimum=1, maximum=500, description="Page size (default 50)"),
    "offset": Integer(minimum=0, maximum=MAX_INT, description="Items to skip"),
}
