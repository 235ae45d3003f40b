"""Whose record is this: the er-replay-uid header, as confluent-kafka hands headers over."""

from __future__ import annotations

from eventreplay.worker.contract.ownership import header, written_by


def test_the_writer_is_read_from_list_or_dict_headers() -> None:
    listed = [("er-source-topic", b"t"), ("er-replay-uid", b"u1")]
    assert written_by(listed, b"u1") and not written_by(listed, b"u2")
    assert written_by({"er-replay-uid": "u1"}, b"u1")
    assert not written_by(None, b"u1") and not written_by([("er-replay-uid", None)], b"u1")
    assert header(listed, "er-source-topic") == b"t" and header(listed, "absent") is None
