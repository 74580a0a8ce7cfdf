"""parse_payload: the stored body as templates see it (JSON, form fields or text)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookline.errors import MalformedPayloadError
from hookline.ingest.payload import media_type, parse_payload

# No deadline: a slow CI machine must not turn into a failure (no timing thresholds).
PROPERTY = settings(deadline=None)


class TestMediaType:
    @pytest.mark.parametrize(
        ("content_type", "expected"),
        [
            ("application/json", "application/json"),  # plain
            ("Application/JSON; charset=UTF-8", "application/json"),  # case and parameters
            ("  text/plain ; charset=utf-8", "text/plain"),  # spaces
            ("", ""),  # empty header
            (None, ""),  # no header
        ],
    )
    def test_media_type(self, content_type: str | None, expected: str) -> None:
        """The media type is lower-cased and stripped of parameters."""
        assert media_type(content_type) == expected


class TestJson:
    @pytest.mark.parametrize(
        "content_type",
        [
            "application/json",  # plain
            "application/json; charset=utf-8",  # with a charset
            "APPLICATION/JSON",  # upper case
            "application/vnd.api+json",  # a +json type
            "application/cloudevents+json; charset=utf-8",  # idem, with parameters
        ],
    )
    def test_json_types(self, content_type: str) -> None:
        """JSON and +json bodies are parsed into Python values."""
        body = b'{"id": "evt_1", "amount": 5000, "tags": ["a"], "paid": true, "note": null}'

        assert parse_payload(content_type, body) == {
            "id": "evt_1",
            "amount": 5000,
            "tags": ["a"],
            "paid": True,
            "note": None,
        }

    def test_json_scalar_and_list(self) -> None:
        """Any JSON value is a payload, not only objects."""
        assert parse_payload("application/json", b"[1, 2]") == [1, 2]
        assert parse_payload("application/json", b'"text"') == "text"

    def test_empty_json_body_is_none(self) -> None:
        """An empty body declared as JSON is no payload rather than an error."""
        assert parse_payload("application/json", b"") is None

    def test_what_json_senders_send_beyond_orjson_is_accepted(self) -> None:
        """A UTF-8 byte order mark and a lone surrogate escape parse (a signed body is not
        refused for what the standard library's parser accepts)."""
        assert parse_payload("application/json", b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
        assert parse_payload("application/json", b'{"a": "\\ud83d"}') == {"a": "\ud83d"}

    @pytest.mark.parametrize(
        "body",
        [
            b"{",  # truncated
            b"{'a': 1}",  # single quotes
            b"not json",  # text
            b'{"a": 1} trailing',  # trailing garbage
            b'{"a": "\xff"}',  # not UTF-8
        ],
    )
    def test_malformed_json_is_an_error(self, body: bytes) -> None:
        """A body declared as JSON that does not parse is a MalformedPayloadError."""
        with pytest.raises(MalformedPayloadError, match=r"^malformed JSON body: "):
            parse_payload("application/json", body)


class TestForm:
    def test_fields(self) -> None:
        """Form bodies become a dict of fields, percent-decoded, blanks kept."""
        body = b"name=Ivan+Petrov&city=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0&empty=&flag"

        assert parse_payload("application/x-www-form-urlencoded; charset=utf-8", body) == {
            "name": "Ivan Petrov",
            "city": "Москва",
            "empty": "",
            "flag": "",
        }

    def test_repeated_field_keeps_the_last(self) -> None:
        """A repeated field keeps its last value."""
        assert parse_payload("application/x-www-form-urlencoded", b"a=1&a=2") == {"a": "2"}

    def test_empty_form(self) -> None:
        """An empty form is an empty dict."""
        assert parse_payload("application/x-www-form-urlencoded", b"") == {}

    def test_non_utf8_form_is_an_error(self) -> None:
        """A form body that is not UTF-8 is a MalformedPayloadError."""
        with pytest.raises(MalformedPayloadError, match=r"^form body is not UTF-8$"):
            parse_payload("application/x-www-form-urlencoded", b"name=Iv\xe1n")


class TestText:
    def test_text(self) -> None:
        """Other declared types are text."""
        assert parse_payload("text/plain", "Привет".encode()) == "Привет"

    def test_declared_text_that_looks_like_json_stays_text(self) -> None:
        """A body declared as text is not parsed as JSON, whatever it looks like."""
        assert parse_payload("text/plain", b'{"a": 1}') == '{"a": 1}'

    def test_non_utf8_text_gets_replacement_characters(self) -> None:
        """Bytes that are not UTF-8 become U+FFFD instead of failing."""
        assert parse_payload("text/plain", b"caf\xe9 ok") == "caf\ufffd ok"

    def test_binary_types_are_text_too(self) -> None:
        """Any other type is decoded as text, for templates to show."""
        assert parse_payload("application/octet-stream", b"\x00\xff") == "\x00\ufffd"


class TestUntyped:
    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            (b'{"id": 1}', {"id": 1}),  # an object
            (b"[1, 2]", [1, 2]),  # an array
        ],
    )
    def test_json_looking_body_is_parsed(self, body: bytes, expected: Any) -> None:
        """Without a content type, a body that is a JSON object or array is parsed."""
        assert parse_payload(None, body) == expected
        assert parse_payload("", body) == expected

    @pytest.mark.parametrize(
        "body",
        [
            b"{not json",  # looks like JSON but is not
            b"[1, 2",  # truncated
            b"42",  # a JSON scalar is not guessed
            b"hello",  # plain text
            b"",  # empty
        ],
    )
    def test_other_untyped_bodies_are_text(self, body: bytes) -> None:
        """Without a content type, anything else is text, never an error."""
        assert parse_payload(None, body) == body.decode()


content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/problem+json",
            "application/x-www-form-urlencoded",
            "text/plain",
            "",
            "multipart/form-data; boundary=x",
        ]
    ),
    st.text(max_size=40),
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(str.encode),
    st.from_regex(rb"\A[\[{][ -~]{0,40}\Z", fullmatch=True),
)


class TestProperties:
    @PROPERTY
    @given(content_type=content_types, body=bodies)
    def test_only_malformed_payload_error(self, content_type: str | None, body: bytes) -> None:
        """Whatever arrives, parse_payload returns a value or raises MalformedPayloadError."""
        with contextlib.suppress(MalformedPayloadError):
            parse_payload(content_type, body)

    @PROPERTY
    @given(body=st.binary(max_size=300))
    def test_text_never_fails(self, body: bytes) -> None:
        """A text body always decodes, whatever its bytes."""
        assert isinstance(parse_payload("text/plain", body), str)
