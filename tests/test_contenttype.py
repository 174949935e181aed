"""The remembered Content-Type readers answer what the Message methods answer, for any value."""

from __future__ import annotations

from email.message import Message
from email.policy import default

from hypothesis import given, settings
from hypothesis import strategies as st

from noticedesk.mail.contenttype import boundary_of, charset_of, content_type_of

_VALUES = st.lists(
    st.sampled_from(
        [
            "text/plain",
            "TEXT/HTML",
            "multipart/alternative",
            "text",
            "a/b/c",
            ";",
            " ",
            "charset=",
            "UTF-8",
            '"utf-8"',
            "boundary=",
            '"=_x y"',
            "alt",
            "name=x.txt",
            "*0*=us-ascii''a",
            "'",
            "\udcff",
        ]
    ),
    max_size=8,
).map(lambda pieces: "; ".join(pieces))


@given(_VALUES, st.sampled_from(["text/plain", "message/rfc822"]))
@settings(max_examples=500, deadline=None)
def test_readers_answer_as_the_methods(value: str, default_type: str) -> None:
    for _ in range(2):  # the second time from what was remembered
        message = Message()
        message.set_default_type(default_type)
        message.set_raw("Content-Type", value)
        header = message.get("Content-Type")
        assert content_type_of(message, header) == message.get_content_type()
        assert boundary_of(message, header) == message.get_boundary()
        assert charset_of(message, header) == message.get_content_charset()


def test_no_content_type_is_the_default_type() -> None:
    message = Message()
    message.set_default_type("message/rfc822")
    assert content_type_of(message, None) == "message/rfc822" == message.get_content_type()


def test_other_policies_are_asked_directly() -> None:
    message = Message(policy=default)
    message["Content-Type"] = 'multipart/mixed; boundary="b"; charset=utf-8'
    header = message.get("Content-Type")
    assert boundary_of(message, header) == "b"
    assert charset_of(message, header) == "utf-8"
    assert content_type_of(message, header) == "multipart/mixed"
