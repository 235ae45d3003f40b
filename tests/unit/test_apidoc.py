"""The committed spec reference is what the models generate (like the CRD's golden-file test)."""

from __future__ import annotations

from eventreplay.operator import apidoc


def test_spec_reference_is_up_to_date() -> None:
    assert apidoc.DOC_PATH.read_text() == apidoc.render(), "run: python -m eventreplay.operator.apidoc"


def test_every_field_has_a_description() -> None:
    rows = [line for line in apidoc.render().splitlines() if line.startswith("| `spec.")]
    assert len(rows) > 40
    assert all(not line.rstrip().endswith("|  |") for line in rows), "a field without a description"
