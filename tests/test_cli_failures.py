"""The archipy-lite command with bad input: one clear line on stderr, a non-zero exit, no traceback.

Every subcommand is run with bad input, either as a real process (what the issue names: an
unreachable server, a file that is not a database) or through the entry function ``main``.
"""

from __future__ import annotations

import argparse
import io
import re
import sqlite3
from pathlib import Path

import pytest

from archipy_lite.cli import build_parser, main
from archipy_lite.cli.dataset_commands import ProgressLine
from archipy_lite.cli.failures import EXIT_INTERRUPTED, TRACEBACK_VARIABLE, run_handler
from archipy_lite.cli.output import Printer
from archipy_lite.datasets import LoadProgress

from test_cli import PASSWORD, free_port, run_cli


def one_error_line(stderr: str) -> str:
    """The single line a failure prints; fails on a traceback or anything else on stderr."""
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the entry function in this process (faster than a subprocess), returning code, stdout, stderr."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def not_a_database(tmp_path: Path) -> Path:
    path = tmp_path / "notes.sqlite3"
    path.write_text("these are notes, not a database\n" * 50)
    return path


GEO_MODELS = """
from sqlalchemy import Column, Integer, String
from archipy_lite.datasets import DataSet

GeoBase = DataSet.create("geo_cli_failures")


class Country(GeoBase):
    __tablename__ = "countries"
    id = Column(Integer, primary_key=True)
    name = Column(String, nullable=False)
"""


# --- the two the issue names, as real processes


def test_demo_against_an_unreachable_server(tmp_path: Path) -> None:
    port = free_port()
    result = run_cli("demo", "--dsn", f"postgresql://ann:{PASSWORD}@127.0.0.1:{port}/shop", cwd=tmp_path)
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert f"cannot connect to postgresql+psycopg://ann:***@127.0.0.1:{port}/shop" in line
    assert f"connection refused by 127.0.0.1:{port}" in line
    assert PASSWORD not in result.stdout + result.stderr


def test_dataset_info_on_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = not_a_database(tmp_path)
    before = path.read_bytes()
    result = run_cli("dataset", "info", str(path), cwd=tmp_path)
    assert result.returncode == 1
    assert (
        one_error_line(result.stderr)
        == f"error: InvalidArgumentError: {path} is not a SQLite data set (file is not a database)"
    )
    assert result.stdout == ""
    assert path.read_bytes() == before


# --- every subcommand, through the entry function


# The demo's tables live on BaseEntity's metadata: run it in its own process, never in this one.
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["demo", "--dsn", "mysql://ann@db/shop"], "ConfigurationError: Invalid PostgresSQLAlchemyConfig"),
        (["demo", "--sqlite", "/no/such/directory/demo.sqlite3"], "directory '/no/such/directory' does not exist"),
    ],
    ids=["wrong-scheme", "sqlite-missing-directory"],
)
def test_demo_with_bad_targets(tmp_path: Path, args: list[str], expected: str) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert expected in one_error_line(result.stderr)


def test_doctor_with_an_unparseable_dsn(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "doctor", "--dsn", "not a dsn")
    assert code == 1
    assert "ConfigurationError: Invalid PostgresSQLAlchemyConfig configuration: POSTGRES_DSN" in one_error_line(err)


def test_dataset_info_on_missing_paths_and_directories(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_main(capsys, "dataset", "info", str(tmp_path / "missing.sqlite3"))
    assert (code, one_error_line(err)) == (
        1,
        f"error: InvalidArgumentError: {tmp_path / 'missing.sqlite3'} does not exist",
    )
    code, _, err = run_main(capsys, "dataset", "info", str(tmp_path))
    assert (code, one_error_line(err)) == (1, f"error: InvalidArgumentError: {tmp_path} is not a file")


def test_dataset_dump_of_a_file_that_is_not_a_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "geo_failures_models.py").write_text(GEO_MODELS)
    monkeypatch.chdir(tmp_path)
    path = not_a_database(tmp_path)
    code, _, err = run_main(capsys, "dataset", "dump", "geo_failures_models:GeoBase", str(path), "out")
    assert code == 1
    assert (
        one_error_line(err) == f"error: InvalidArgumentError: {path} is not a SQLite data set (file is not a database)"
    )
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["no_such_module:Base", "out.sqlite3", "rows.csv"], "ConfigurationError: cannot import 'no_such_module'"),
        (["geo_failures_models", "out.sqlite3", "rows.csv"], "expected module:attribute"),
        (["geo_failures_models:Country", "out.sqlite3", "rows.csv"], "is not a data set base"),
        (["geo_failures_models:GeoBase", "out.sqlite3", "missing.csv"], "missing.csv does not exist"),
        (["geo_failures_models:GeoBase", "out.sqlite3", "countries.csv"], "line 3"),
    ],
    ids=["unimportable", "not-module-attribute", "not-a-base", "missing-csv", "bad-csv-value"],
)
def test_dataset_build_with_bad_input_keeps_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], expected: str
) -> None:
    (tmp_path / "geo_failures_models.py").write_text(GEO_MODELS)
    (tmp_path / "countries.csv").write_text("id,name\n1,France\nnot-a-number,Germany\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, "dataset", "build", *args)
    assert code == 1
    assert expected in one_error_line(err)
    assert not (tmp_path / "out.sqlite3").exists()


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_dataset_build_rejects_a_bad_batch_size_with_usage(capsys: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["dataset", "build", "geo:GeoBase", "out.sqlite3", "rows.csv", "--batch-size", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --batch-size" in err
    assert "Traceback" not in err


# --- the shared wrapper: what any subcommand, present or future, gets


def test_an_unexpected_failure_is_one_line_without_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(_arguments: argparse.Namespace, _printer: Printer) -> int:
        raise RuntimeError(f"could not use postgresql://ann:{PASSWORD}@db/shop\nsecond line")

    assert run_handler(handler, argparse.Namespace(), Printer()) == 1
    line = one_error_line(capsys.readouterr().err)
    assert line == (
        "error: unexpected RuntimeError: could not use postgresql://ann:***@db/shop "
        f"(set {TRACEBACK_VARIABLE}=1 to see where)"
    )


def test_driver_errors_are_translated_and_tracebacks_come_on_request(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = not_a_database(tmp_path)

    def handler(_arguments: argparse.Namespace, _printer: Printer) -> int:
        with sqlite3.connect(path) as connection:
            connection.execute("SELECT 1 FROM sqlite_master")
        return 0

    assert run_handler(handler, argparse.Namespace(), Printer()) == 1
    assert one_error_line(capsys.readouterr().err).startswith("error: Database")  # typed, not sqlite3's own

    monkeypatch.setenv(TRACEBACK_VARIABLE, "1")
    assert run_handler(handler, argparse.Namespace(), Printer()) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert err.strip().splitlines()[-1].startswith("error: Database")


def test_interrupt_exits_130(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(_arguments: argparse.Namespace, _printer: Printer) -> int:
        raise KeyboardInterrupt

    assert run_handler(handler, argparse.Namespace(), Printer()) == EXIT_INTERRUPTED
    assert capsys.readouterr().err.strip() == "interrupted"


# --- help and progress


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.extend(_subparsers(child))
    return found


@pytest.mark.parametrize("parser", _subparsers(build_parser()), ids=lambda parser: parser.prog)
def test_help_mentions_only_options_that_exist(parser: argparse.ArgumentParser) -> None:
    # A group's help may speak of its actions' options; nothing may name an option no command has.
    known = {option for each in _subparsers(parser) for action in each._actions for option in action.option_strings}
    mentioned = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", parser.format_help()))
    assert mentioned <= known, f"{parser.prog} --help mentions {sorted(mentioned - known)}"


def test_progress_lines_are_written_when_output_is_not_a_terminal() -> None:
    every_time, never = io.StringIO(), io.StringIO()
    for stream, interval in ((every_time, 0.0), (never, 3600.0)):
        progress = ProgressLine(stream, interval=interval)
        for rows in (10_000, 20_000):
            progress(LoadProgress("cities", "cities.csv", rows, done=False))
        progress(LoadProgress("cities", "cities.csv", 25_000, done=True))
    lines = every_time.getvalue().splitlines()
    assert len(lines) == 3
    assert "\r" not in every_time.getvalue()
    assert [line.split()[1] for line in lines] == ["10,000", "20,000", "25,000"]
    assert lines[-1].endswith("done")
    held_back = never.getvalue().splitlines()  # the interval holds back all but the final count
    assert [line.split()[:3] for line in held_back] == [lines[-1].split()[:3]]
    assert held_back[0].endswith("done")


def test_file_errors_are_named_as_file_errors_and_leave_nothing_behind(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "geo_failures_models.py").write_text(GEO_MODELS)
    (tmp_path / "countries.csv").write_text("id,name\n1,France\n")
    (tmp_path / "taken").mkdir()  # the output path is a directory
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, "dataset", "build", "geo_failures_models:GeoBase", "taken", "countries.csv")
    assert code == 1
    line = err.strip().splitlines()[-1]  # after the progress lines
    assert line == "error: taken: Is a directory"
    assert "Database" not in line  # a file error, not a database that could not be reached
    assert sorted(path.name for path in tmp_path.iterdir() if "building" in path.name) == []

    dump = ["dataset", "dump", "geo_failures_models:GeoBase", "nowhere.sqlite3", "countries.csv"]
    code, _, err = run_main(capsys, *dump)
    assert code == 1
    assert "Database" not in one_error_line(err)


def test_a_closed_output_pipe_is_not_a_database_failure(capsys: pytest.CaptureFixture[str]) -> None:
    def closed(_arguments: argparse.Namespace, _printer: Printer) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    code = run_handler(closed, argparse.Namespace(), Printer(io.StringIO()))
    assert code == 1
    assert one_error_line(capsys.readouterr().err) == (
        "error: the output was closed before everything was written (broken pipe)"
    )
