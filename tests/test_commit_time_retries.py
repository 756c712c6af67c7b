"""``atomic(retries=N)`` re-runs the whole transaction when COMMIT itself fails with 40001.

Distributed SQL databases (CockroachDB, YugabyteDB) report serialization conflicts at commit
time far more often than PostgreSQL does. PostgreSQL is made to do the same here: a deferred
constraint trigger runs at COMMIT and raises SQLSTATE 40001 for the first few commits (counted
with a sequence, which a rollback does not undo).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from archipy_lite.helpers.decorators.sqlalchemy_atomic import atomic
from archipy_lite.models.errors import DatabaseSerializationError

from backends import Backend
from db_checks import backend_params, plain_dsn

pytestmark = pytest.mark.postgres

SETUP = """
CREATE TABLE commit_probe (id serial PRIMARY KEY, attempt int NOT NULL);
CREATE TABLE commit_failure_budget (failing_commits int NOT NULL);
INSERT INTO commit_failure_budget VALUES (0);
CREATE SEQUENCE commit_failures;
CREATE FUNCTION fail_first_commits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('commit_failures') <= (SELECT failing_commits FROM commit_failure_budget) THEN
        RAISE EXCEPTION 'serialization failure at commit' USING ERRCODE = '40001';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON commit_probe
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_first_commits();
"""
TEARDOWN = """
DROP TABLE IF EXISTS commit_probe, commit_failure_budget;
DROP SEQUENCE IF EXISTS commit_failures;
DROP FUNCTION IF EXISTS fail_first_commits();
"""


@pytest.fixture
async def probe(db: Backend) -> AsyncIterator[Backend]:
    with psycopg.connect(plain_dsn(db), autocommit=True) as connection:
        connection.execute(TEARDOWN)
        connection.execute(SETUP)
    yield db
    with psycopg.connect(plain_dsn(db), autocommit=True) as connection:
        connection.execute(TEARDOWN)


def fail_next_commits(db: Backend, count: int) -> None:
    with psycopg.connect(plain_dsn(db), autocommit=True) as connection:
        connection.execute("SELECT setval('commit_failures', 1, false)")
        connection.execute("UPDATE commit_failure_budget SET failing_commits = %s", (count,))


async def run_decorated(db: Backend, retries: int, attempts: list[int]) -> None:
    """An atomic function that inserts a row numbered after its attempt."""
    insert = text("INSERT INTO commit_probe (attempt) VALUES (:attempt)")
    if db.is_async:

        @atomic(db.adapter, retries=retries)
        async def work() -> None:
            attempts.append(len(attempts) + 1)
            await db.adapter.execute(insert, {"attempt": attempts[-1]})

        await work()
        return

    @atomic(db.adapter, retries=retries)
    def sync_work() -> None:
        attempts.append(len(attempts) + 1)
        db.adapter.execute(insert, {"attempt": attempts[-1]})

    sync_work()


def committed(db: Backend) -> list[Any]:
    with psycopg.connect(plain_dsn(db), autocommit=True) as connection:
        return [row[0] for row in connection.execute("SELECT attempt FROM commit_probe ORDER BY id").fetchall()]


@pytest.mark.parametrize("db", backend_params(kind="postgres"), indirect=True)
async def test_a_serialization_failure_at_commit_reruns_the_whole_transaction(probe: Backend) -> None:
    fail_next_commits(probe, 2)
    attempts: list[int] = []
    await run_decorated(probe, 3, attempts)
    assert attempts == [1, 2, 3]
    assert committed(probe) == [3]  # the failed attempts left nothing behind


@pytest.mark.parametrize("db", backend_params(kind="postgres"), indirect=True)
async def test_when_retries_run_out_the_commit_failure_is_typed_retryable_and_nothing_is_kept(probe: Backend) -> None:
    fail_next_commits(probe, 3)
    attempts: list[int] = []
    with pytest.raises(DatabaseSerializationError) as caught:
        await run_decorated(probe, 2, attempts)
    assert attempts == [1, 2, 3]
    assert caught.value.retryable
    assert caught.value.details["sqlstate"] == "40001"
    assert committed(probe) == []
