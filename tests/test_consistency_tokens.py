"""Consistency tokens: opaque, signed, and refused with a typed error when forged or foreign."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archipy_lite.adapters.base.sqlalchemy.consistency_tokens import ConsistencyTokens
from archipy_lite.models.errors import InvalidArgumentError

positions = st.integers(min_value=0, max_value=2**64 - 1)
REFUSAL = "The consistency token is not valid: it was altered, or signed with another CONSISTENCY_TOKEN_SECRET."


@given(positions)
def test_a_token_carries_its_position_and_fits_a_header_or_a_cookie(position: int) -> None:
    tokens = ConsistencyTokens("secret")
    token = tokens.encode(position)
    assert tokens.decode(token) == position
    assert token.isascii()
    assert all(character.isalnum() or character in "-_" for character in token)  # URL- and cookie-safe
    assert len(token) == 34


@given(positions, st.integers(min_value=0, max_value=33), st.sampled_from("AQgw-_"))
def test_any_altered_character_is_refused(position: int, index: int, replacement: str) -> None:
    tokens = ConsistencyTokens("secret")
    token = tokens.encode(position)
    altered = token[:index] + replacement + token[index + 1 :]
    if altered == token:
        return
    with pytest.raises(InvalidArgumentError):
        tokens.decode(altered)


@given(st.text(max_size=80))
def test_arbitrary_text_is_refused_with_a_typed_error_that_never_echoes_it(text: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        ConsistencyTokens("secret").decode(text)
    assert str(caught.value) == REFUSAL


def test_a_token_of_another_secret_is_refused_and_the_same_secret_accepts_it() -> None:
    token = ConsistencyTokens("deployment A").encode(123_456)
    assert ConsistencyTokens("deployment A").decode(token) == 123_456  # another process, same secret
    assert ConsistencyTokens(b"deployment A").decode(token) == 123_456
    with pytest.raises(InvalidArgumentError):
        ConsistencyTokens("deployment B").decode(token)
    with pytest.raises(InvalidArgumentError):
        ConsistencyTokens().decode(token)


def test_without_a_secret_tokens_are_valid_in_this_process_only() -> None:
    token = ConsistencyTokens().encode(42)
    assert ConsistencyTokens().decode(token) == 42
    assert ConsistencyTokens(None).decode(token) == 42


def test_the_secret_never_shows() -> None:
    tokens = ConsistencyTokens("Sup3r-S3cret")
    assert "Sup3r" not in repr(tokens)
    assert "Sup3r" not in str(vars(tokens))


@pytest.mark.parametrize("position", [-1, 2**64])
def test_a_position_outside_64_bits_is_refused(position: int) -> None:
    with pytest.raises(InvalidArgumentError):
        ConsistencyTokens().encode(position)
