"""The pagination DTOs, Page[T] (also as a FastAPI response model) and the cursor value codec. No database."""

from __future__ import annotations

import enum
import math
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from archipy_lite.adapters.base.sqlalchemy.cursors import CursorSigner, decode_value, encode_value
from archipy_lite.models.dtos import CursorPaginationDTO, OffsetPaginationDTO, Page
from archipy_lite.models.errors import InvalidArgumentError

BAD_DTOS: list[tuple[type[Any], dict[str, Any], str]] = [
    (OffsetPaginationDTO, {"limit": 0}, "limit"),
    (OffsetPaginationDTO, {"limit": 101}, "limit"),
    (OffsetPaginationDTO, {"limit": "ten"}, "limit"),
    (OffsetPaginationDTO, {"offset": -1}, "offset"),
    (OffsetPaginationDTO, {"offset": 2**63}, "offset"),
    (OffsetPaginationDTO, {"page": 2}, "page"),  # PaginationDTO's field: refused, not ignored
    (CursorPaginationDTO, {"page_size": 0}, "page_size"),
    (CursorPaginationDTO, {"page_size": 101}, "page_size"),
    (CursorPaginationDTO, {"cursor": "abc$def"}, "cursor"),
    (CursorPaginationDTO, {"cursor": "a b"}, "cursor"),
    (CursorPaginationDTO, {"cursor": "x" * 4097}, "cursor"),
    (CursorPaginationDTO, {"offset": 10}, "offset"),
    (CursorPaginationDTO, {"page_size": 5, "after": "abc"}, "after"),
]


@pytest.mark.parametrize(("dto", "fields", "named"), BAD_DTOS)
def test_bad_pagination_is_an_invalid_argument_naming_the_field(
    dto: type[Any], fields: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        dto(**fields)
    assert named in caught.value.details["fields"]
    assert named in str(caught.value)


def test_good_pagination() -> None:
    assert (OffsetPaginationDTO().limit, OffsetPaginationDTO().offset) == (10, 0)
    assert OffsetPaginationDTO(limit="5", offset="20").page_size == 5
    assert CursorPaginationDTO(cursor="").cursor is None  # ?cursor= is the first page
    assert CursorPaginationDTO(cursor="aZ09_-").cursor == "aZ09_-"

    class Export(CursorPaginationDTO):
        MAX_PAGE_SIZE = 1000

    assert Export(page_size=1000).page_size == 1000
    with pytest.raises(InvalidArgumentError):
        CursorPaginationDTO(page_size=1000)
    with pytest.raises(ValueError, match="frozen"):
        OffsetPaginationDTO().limit = 3  # type: ignore[misc]


# --- Page[T]


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str


class Customer:
    """Stands in for an ORM object: attributes only."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.secret = "not in the response"


def test_a_page_maps_its_items_and_refuses_unknown_fields() -> None:
    page: Page[Any] = Page(items=[Customer("ann"), Customer("bob")], page_size=2, next_cursor="abc")
    out = page.map(CustomerOut.model_validate)
    assert [item.name for item in out.items] == ["ann", "bob"]
    assert (out.page_size, out.next_cursor, out.total) == (2, "abc", None)
    with pytest.raises(InvalidArgumentError, match="cursor: unknown field"):  # a DTO: typed, naming the field
        Page(items=[], page_size=1, cursor="x")
    schema = Page[CustomerOut].model_json_schema()
    assert schema["properties"]["items"]["items"] == {"$ref": "#/$defs/CustomerOut"}


async def test_fastapi_takes_page_as_a_response_model() -> None:
    app = FastAPI()

    @app.get("/customers", response_model=Page[CustomerOut])
    def customers() -> Any:
        return Page(items=[Customer("ann")], total=1, page_size=10, page=1, offset=0)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        body = (await client.get("/customers")).json()
        spec = (await client.get("/openapi.json")).json()
    assert body == {
        "items": [{"name": "ann"}],
        "total": 1,
        "page_size": 10,
        "page": 1,
        "offset": 0,
        "next_cursor": None,
        "prev_cursor": None,
    }
    assert "Page_CustomerOut_" in spec["components"]["schemas"]


# --- cursor values


class Colour(enum.Enum):
    RED = "r"


class Size(enum.IntEnum):
    LARGE = 3


VALUES = [
    None,
    True,
    0,
    -(2**70),
    "text with ünïcode and \x00",
    1.5,
    -0.0,
    math.inf,
    -math.inf,
    Decimal("12.340"),
    datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
    datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=-3))),
    datetime(2024, 5, 6, 7, 8, 9),
    date(2024, 2, 29),
    time(23, 59, 59, 999999),
    timedelta(days=-2, seconds=5, microseconds=7),
    uuid4(),
    b"\x00\xffbytes",
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_cursor_values_survive_the_round_trip(value: Any) -> None:
    signer = CursorSigner(b"k" * 32)
    token = signer.encode("f" * 16, "after", [value])
    decoded = signer.decode(token, "f" * 16, 1).values[0]
    assert decoded == value
    assert type(decoded) is type(value)
    if isinstance(value, datetime):
        assert decoded.utcoffset() == value.utcoffset()


def test_enums_travel_as_their_names_and_nan_as_nan() -> None:
    assert decode_value(encode_value(Colour.RED)) == "RED"  # what SQLAlchemy's Enum type binds
    assert decode_value(encode_value(Size.LARGE)) == "LARGE"
    assert math.isnan(decode_value(encode_value(math.nan)))


def test_values_a_cursor_cannot_carry_are_an_invalid_argument() -> None:
    for value in ([1, 2], {"a": 1}, object(), {1}):
        with pytest.raises(InvalidArgumentError, match="Cannot page by a value"):
            encode_value(value)


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=200))
def test_random_tokens_are_refused(token: str) -> None:
    signer = CursorSigner(b"k" * 32)
    with pytest.raises(InvalidArgumentError):
        signer.decode(token, "f" * 16, 2)


def test_the_signer_never_shows_its_key() -> None:
    assert "kkkk" not in repr(CursorSigner(b"k" * 32, max_age=5))
