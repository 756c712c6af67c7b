"""Turn Pydantic validation failures into typed errors without echoing input values.

Configuration models raise ``ConfigurationError``, DTOs ``InvalidArgumentError`` (a class picks its
error with ``__validation_error__``). Both refuse fields they do not know, naming them: a misspelt
argument must not fall back silently to a default.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic._internal._model_construction import ModelMetaclass
from pydantic_settings import BaseSettings, SettingsError

from archipy_lite.models.errors import BaseError, ConfigurationError

_MESSAGES = {"extra_forbidden": "unknown field"}


def configuration_error_from(exc: ValidationError, error_class: type[BaseError] = ConfigurationError) -> BaseError:
    """Build a typed error naming each bad field and its problem.

    Input values are deliberately left out: they may be passwords or DSNs.
    """
    problems = []
    fields = []
    for error in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or exc.title
        fields.append(field)
        problems.append(f"{field}: {_MESSAGES.get(error['type'], error['msg'])}")
    noun = "configuration" if issubclass(error_class, ConfigurationError) else "value"
    return error_class(f"Invalid {exc.title} {noun}: " + "; ".join(problems), details={"fields": fields})


def unknown_arguments(cls: type[Any], arguments: Mapping[str, Any]) -> list[str]:
    """Keyword arguments that name no field of a settings class (compared as its sources compare them).

    Settings classes ignore unknown keys so that a shared ``.env`` may hold other tools' variables;
    explicit arguments are code, and a typo there must not go unnoticed.
    """
    case_sensitive = bool(cls.model_config.get("case_sensitive", False))
    known: set[str] = set()
    for name, field in cls.model_fields.items():
        known.update(alias for alias in (name, field.alias) if isinstance(alias, str))
    if not case_sensitive:
        known = {name.lower() for name in known}
    fold = (lambda key: key) if case_sensitive else str.lower
    return [key for key in arguments if not key.startswith("_") and fold(key) not in known]


def _refuse_unknown(cls: type[Any], arguments: Mapping[str, Any], error_class: type[BaseError]) -> None:
    unknown = unknown_arguments(cls, arguments)
    if unknown:
        problems = "; ".join(f"{name}: unknown field" for name in unknown)
        raise error_class(f"Invalid {cls.__name__} configuration: {problems}", details={"fields": unknown})


class ConfigurationMeta(ModelMetaclass):
    """Metaclass that reports invalid values as a typed error when a user builds a model.

    The error class is ``ConfigurationError`` unless the class sets ``__validation_error__``. A
    class with a ``_with_sources(arguments)`` classmethod gets its arguments completed by it first.

    Nested sections are validated by their parent without passing through here, so the
    error names the full path (``POSTGRES_SQLALCHEMY.PORT``) exactly once.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - a metaclass method receives the class
        error_class = getattr(cls, "__validation_error__", ConfigurationError)
        with_sources = getattr(cls, "_with_sources", None)  # sections read their environment variables
        if with_sources is not None:
            kwargs = with_sources(kwargs)
        if issubclass(cls, BaseSettings):
            _refuse_unknown(cls, kwargs, error_class)
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            raise configuration_error_from(exc, error_class) from None
        except SettingsError as exc:  # e.g. malformed JSON for a nested section in an environment variable
            raise error_class(f"Invalid {cls.__name__} configuration: {exc}") from None


@contextmanager
def _typed_errors(cls: type[Any]) -> Iterator[None]:
    try:
        yield
    except ValidationError as exc:
        raise configuration_error_from(exc, getattr(cls, "__validation_error__", ConfigurationError)) from None


class TypedModel(BaseModel, metaclass=ConfigurationMeta):
    """A model whose ``model_validate*`` class methods raise the class's typed error too, never echoing input.

    (Values validated as part of a larger model, or by FastAPI for a request body, keep Pydantic's errors.)
    """

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def model_validate(cls, *args: Any, **kwargs: Any) -> Self:
        given = args[0] if args else kwargs.get("obj")
        if issubclass(cls, BaseSettings) and isinstance(given, Mapping):
            _refuse_unknown(cls, given, getattr(cls, "__validation_error__", ConfigurationError))
        with _typed_errors(cls):
            return super().model_validate(*args, **kwargs)

    @classmethod
    def model_validate_json(cls, *args: Any, **kwargs: Any) -> Self:
        with _typed_errors(cls):
            return super().model_validate_json(*args, **kwargs)

    @classmethod
    def model_validate_strings(cls, *args: Any, **kwargs: Any) -> Self:
        with _typed_errors(cls):
            return super().model_validate_strings(*args, **kwargs)
