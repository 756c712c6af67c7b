"""The base every DTO builds on: immutable, and strict about the fields it is given."""

from typing import ClassVar

from pydantic import ConfigDict

from archipy_lite.models.errors import InvalidArgumentError
from archipy_lite.models.validation import TypedModel


class BaseDTO(TypedModel):
    """Frozen Pydantic model whose bad or unknown fields raise ``InvalidArgumentError`` naming them.

    ``SortDTO(colum="name")`` must fail rather than sort by the default column. Subclasses add
    fields, validators and aliases (``Field(validation_alias=AliasChoices(...))``) as usual.
    """

    __validation_error__: ClassVar[type[InvalidArgumentError]] = InvalidArgumentError

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
