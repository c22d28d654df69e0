"""Path converters of every site, registered when this module is imported: each URL module
that uses ``<id:...>`` or ``<entity:...>`` imports it, whatever order Django loads them in."""

from django.urls import register_converter


class RowIdConverter:
    """A primary key in URLs: a positive integer that fits PostgreSQL's bigint.

    Anything else (too long, signed, zero-padded) does not match the route, so it is a 404
    before any query instead of a database error.
    """

    regex = "[1-9][0-9]{0,17}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class EntityTypeConverter:
    """A model label as the audit log names it: ``app_label.model_name``."""

    regex = r"[a-z][a-z0-9_]{0,49}\.[a-z][a-z0-9_]{0,49}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(RowIdConverter, "id")
register_converter(EntityTypeConverter, "entity")
