"""Turn Pydantic validation failures into ConfigurationError without echoing input values."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic._internal._model_construction import ModelMetaclass
from pydantic_settings import SettingsError

from archipy_lite.models.errors import BaseError, ConfigurationError


def configuration_error_from(exc: ValidationError, error_class: type[BaseError] = ConfigurationError) -> BaseError:
    """Build a typed error naming each bad field and its problem.

    Input values are deliberately left out: they may be passwords or DSNs.
    """
    problems = []
    fields = []
    for error in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or exc.title
        fields.append(field)
        problems.append(f"{field}: {error['msg']}")
    noun = "configuration" if issubclass(error_class, ConfigurationError) else "value"
    return error_class(f"Invalid {exc.title} {noun}: " + "; ".join(problems), details={"fields": fields})


class ConfigurationMeta(ModelMetaclass):
    """Metaclass that reports invalid values as a typed error when a user builds a model.

    The error class is ``ConfigurationError`` unless the class sets ``__validation_error__``.

    Nested sections are validated by their parent without passing through here, so the
    error names the full path (``POSTGRES_SQLALCHEMY.PORT``) exactly once.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - a metaclass method receives the class
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            raise configuration_error_from(exc, getattr(cls, "__validation_error__", ConfigurationError)) from None
        except SettingsError as exc:  # e.g. malformed JSON for a nested section in an environment variable
            error_class = getattr(cls, "__validation_error__", ConfigurationError)
            raise error_class(f"Invalid {cls.__name__} configuration: {exc}") from None
