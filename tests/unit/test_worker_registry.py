"""User code runs only when the image registers it: a registered name resolves; anything else is a
permanent failure that names it, before its module is imported."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eventreplay.worker.contract.exit_codes import EXIT_PERMANENT, PermanentFailure
from eventreplay.worker.contract.tasks import Transform, Validation
from eventreplay.worker.replay.transform import build
from eventreplay.worker.replay.validate import Validator
from eventreplay.worker.runtime.formats import Rejected
from support.plugins import register

AS_OF = datetime(2026, 11, 21, tzinfo=UTC)

PLUGIN = """
import msgspec


def enrich(doc):
    return {**doc, "enriched": True}


class Order(msgspec.Struct):
    event_id: str
    amount: int
"""

# Imported, this module leaves a mark: its absence proves the name was refused before any import.
TRIPWIRE = """
import pathlib

pathlib.Path(__file__).with_name("imported").write_text("yes")


def run(doc):
    return doc
"""


@pytest.fixture
def image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path holding the test modules, as an image's site-packages would."""
    (tmp_path / "er_plugin_ok.py").write_text(PLUGIN)
    (tmp_path / "er_tripwire.py").write_text(TRIPWIRE)
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in ("er_plugin_ok", "er_tripwire"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    return tmp_path


def test_a_registered_transform_and_model_resolve(image: Path) -> None:
    register(image, transforms=["er_plugin_ok:enrich"], models=["er_plugin_ok:Order"])
    built = build(Transform(function="er_plugin_ok:enrich"))
    assert built.user_code and not built.identity
    assert built.fn({"event_id": "a"}, b"") == b'{"enriched":true,"event_id":"a"}'
    validator = Validator(Validation(model="er_plugin_ok:Order"), AS_OF)
    assert validator.check(b'{"event_id": "a", "amount": 3}', 0) == ("a", {"event_id": "a", "amount": 3})
    assert isinstance(validator.check(b'{"event_id": "a", "amount": "x"}', 0), Rejected)


HOSTILE = ["logging.config:dictConfig", "subprocess:Popen", "os:system", "er_tripwire:run", "er_no_such_module:fn"]


@pytest.mark.parametrize("name", HOSTILE)
def test_an_unregistered_transform_is_refused_before_import(image: Path, name: str) -> None:
    register(image, transforms=["er_plugin_ok:enrich"])  # a registry exists; these names are not in it
    with pytest.raises(PermanentFailure, match="not registered in this worker image") as refused:
        build(Transform(function=name))
    assert refused.value.exit_code == EXIT_PERMANENT
    assert repr(name) in str(refused.value) and "eventreplay.transforms" in str(refused.value)
    assert not (image / "imported").exists() and "er_tripwire" not in sys.modules


@pytest.mark.parametrize("name", HOSTILE)
def test_an_unregistered_model_is_refused_before_import(image: Path, name: str) -> None:
    with pytest.raises(PermanentFailure, match=f"validation model {name!r}: not registered"):
        Validator(Validation(model=name), AS_OF)
    assert not (image / "imported").exists() and "er_tripwire" not in sys.modules


def test_a_transform_registered_as_a_model_only_is_refused(image: Path) -> None:
    register(image, models=["er_plugin_ok:enrich"])  # the groups are separate registries
    with pytest.raises(PermanentFailure, match="not registered"):
        build(Transform(function="er_plugin_ok:enrich"))


def test_a_name_that_points_elsewhere_is_refused(image: Path) -> None:
    # The policy allowlists a name; it must be the code that runs, not an alias for os:system.
    register(image, transforms=["er_plugin_ok:enrich = os:system"])
    with pytest.raises(PermanentFailure, match="registered as 'os:system'"):
        build(Transform(function="er_plugin_ok:enrich"))


def test_a_registered_name_whose_module_is_missing_fails_permanently(image: Path) -> None:
    register(image, transforms=["er_gone:fn"])
    with pytest.raises(PermanentFailure, match="cannot import transform 'er_gone:fn'"):
        build(Transform(function="er_gone:fn"))


def test_builtins_need_no_registry() -> None:
    assert build(Transform()).identity
    assert build(Transform(function="project", fields=["a"])).fn({"a": 1, "b": 2}, b"") == b'{"a":1}'
