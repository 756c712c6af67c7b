"""Settings from environment variables, ``.env`` and DSNs, with the password kept secret (configuration.feature).

Scenarios tagged ``@config`` run with the settings variables removed from the environment and
in an empty working directory (see ``environment.py``), so nothing from the developer's shell
or ``.env`` leaks in; both are restored afterwards.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from behave import given, then, when

from archipy_lite.adapters.postgres.sqlalchemy.adapters import AsyncPostgresSQLAlchemyAdapter, PostgresSQLAlchemyAdapter
from archipy_lite.adapters.sqlite.sqlalchemy.adapters import AsyncSQLiteSQLAlchemyAdapter, SQLiteSQLAlchemyAdapter
from archipy_lite.configs import BaseConfig, PostgresSQLAlchemyConfig
from archipy_lite.models.errors import ConfigurationError
from archipy_lite.stores import async_health_check, health_check

from steps.support.entities import Customer
from steps.support.shop import attempt, current_backend, expect_error, find_customer


@given("the environment variables:")
def step_environment_variables(context: Any) -> None:
    for row in context.table:
        os.environ[row["name"]] = row["value"]


@given('the environment variable "{name}" is "{value}"')
def step_environment_variable(context: Any, name: str, value: str) -> None:
    os.environ[name] = value


@given('a ".env" file containing:')
def step_dotenv_file(context: Any) -> None:
    lines = [f"{row['name']}={row['value']}\n" for row in context.table]
    Path(".env").write_text("".join(lines), encoding="utf-8")


def _loaded(context: Any, settings: BaseConfig) -> None:
    context.settings = settings
    context.postgres_settings = settings.POSTGRES_SQLALCHEMY
    context.sqlite_settings = settings.SQLITE_SQLALCHEMY


@when("the application loads its settings")
def step_load_settings(context: Any) -> None:
    _loaded(context, BaseConfig())


@when("the application tries to load its settings")
def step_try_load_settings(context: Any) -> None:
    settings = attempt(context, BaseConfig)
    if settings is not None:
        raise AssertionError(f"loading was expected to fail, got {settings!r}")


@when('the application loads its settings with the database "{database}" given in code')
def step_load_settings_with_code(context: Any, database: str) -> None:
    _loaded(context, BaseConfig(POSTGRES_SQLALCHEMY={"DATABASE": database}))


@when('the application is configured in code with user "{user}" and password "{password}"')
def step_configured_in_code(context: Any, user: str, password: str) -> None:
    context.postgres_settings = PostgresSQLAlchemyConfig(USERNAME=user, PASSWORD=password)


def _check_settings(section: Any, table: Any) -> None:
    for row in table:
        actual = getattr(section, row["setting"])
        assert str(actual) == row["value"], f"{row['setting']} is {actual!r}, expected {row['value']!r}"


@then("the PostgreSQL settings are:")
def step_postgres_settings_are(context: Any) -> None:
    _check_settings(context.postgres_settings, context.table)


@then("the SQLite settings are:")
def step_sqlite_settings_are(context: Any) -> None:
    _check_settings(context.sqlite_settings, context.table)


@then('with the password masked, the connection string is "{dsn}"')
def step_masked_dsn(context: Any, dsn: str) -> None:
    assert context.postgres_settings.masked_dsn() == dsn, context.postgres_settings.masked_dsn()


@then('the PostgreSQL password is "{password}"')
def step_postgres_password(context: Any, password: str) -> None:
    assert context.postgres_settings.PASSWORD.get_secret_value() == password


@then('reading the full connection string back gives user "{user}" and password "{password}"')
def step_dsn_round_trip(context: Any, user: str, password: str) -> None:
    dsn = context.postgres_settings.POSTGRES_DSN.get_secret_value()
    again = PostgresSQLAlchemyConfig(POSTGRES_DSN=dsn)
    assert again.PASSWORD is not None
    assert (again.USERNAME, again.PASSWORD.get_secret_value()) == (user, password)


@then('"{secret}" appears nowhere in the printed settings, the masked connection string or the settings as JSON')
def step_secret_nowhere(context: Any, secret: str) -> None:
    settings, postgres = context.settings, context.postgres_settings
    assert postgres.PASSWORD.get_secret_value() == secret  # it was loaded ...
    shown = [
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        repr(postgres),
        postgres.masked_dsn(),
        repr(postgres.url()),
        repr(postgres.POSTGRES_DSN),
    ]
    for text in shown:  # ... but is never shown
        assert secret not in text, text


@then('loading fails with a configuration error naming "{field}"')
def step_configuration_error(context: Any, field: str) -> None:
    error = expect_error(context, ConfigurationError)
    assert field in str(error), str(error)


@then('the error does not reveal "{secret}"')
def step_error_hides(context: Any, secret: str) -> None:
    error = expect_error(context, ConfigurationError)
    for text in (str(error), repr(error), json.dumps(error.to_dict(), default=str)):
        assert secret not in text, text


# --- an application that only has environment variables ---

ADAPTERS: dict[tuple[str, bool], type[Any]] = {
    ("postgres", False): PostgresSQLAlchemyAdapter,
    ("postgres", True): AsyncPostgresSQLAlchemyAdapter,
    ("sqlite", False): SQLiteSQLAlchemyAdapter,
    ("sqlite", True): AsyncSQLiteSQLAlchemyAdapter,
}


@given("the environment points the application at the customer book")
def step_environment_points_at_book(context: Any) -> None:
    db = current_backend(context)
    config = db.config
    if db.kind == "postgres":
        assert isinstance(config, PostgresSQLAlchemyConfig)
        os.environ["POSTGRES_SQLALCHEMY__POSTGRES_DSN"] = context.postgres.database_dsn
        os.environ["POSTGRES_SQLALCHEMY__ASYNC_DRIVER_NAME"] = config.ASYNC_DRIVER_NAME
        # Nested values are JSON: here, the feature's own schema on the search path.
        os.environ["POSTGRES_SQLALCHEMY__CONNECT_ARGS"] = json.dumps(config.CONNECT_ARGS)
    else:
        os.environ["SQLITE_SQLALCHEMY__DATABASE"] = str(config.DATABASE)


@when("the application starts with the settings it loads")
def step_application_starts(context: Any) -> None:
    BaseConfig.set_global(BaseConfig())


@then("its database adapter, built without arguments, reports the database healthy")
def step_adapter_without_arguments(context: Any) -> None:
    db = current_backend(context)
    context.app_adapter = ADAPTERS[(db.kind, db.is_async)]()
    check = async_health_check if db.is_async else health_check
    report = db.call(check, context.app_adapter)
    assert report.healthy, report
    assert report.dialect == {"postgres": "postgresql", "sqlite": "sqlite"}[db.kind], report


@then('through that adapter it saves the customer "{name}" and finds him again')
def step_app_adapter_saves(context: Any, name: str) -> None:
    db = current_backend(context)
    db.call(context.app_adapter.create, Customer(name=name, email="gus@example.com"))
    found = find_customer(db, name)  # read back through the feature's own adapter: the same database
    assert found is not None
    assert found.email == "gus@example.com"
