"""The compiled hot path's edges: what it must pass on (naive and
pseudo-aware datetimes, instants outside [1800, 2400) in a chunk it has
compiled), and results whose `until` and `at` are resolved only when read."""

from __future__ import annotations

import copy
import json
import pickle
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from schedengine import Engine
from schedengine.times import HORIZON

UTC = timezone.utc
DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo.json"
FLOOR = datetime(1800, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def engines() -> tuple[Engine, Engine]:
    return Engine.from_file(DEMO), Engine.from_file(DEMO, mode="reference")


class NoOffset(tzinfo):
    """A tzinfo whose utcoffset is None: Python calls such a datetime naive."""

    def utcoffset(self, dt):  # noqa: D102
        return None

    def dst(self, dt):  # noqa: D102
        return None


@pytest.mark.parametrize("bound", [HORIZON, FLOOR])
@pytest.mark.parametrize("step", [-3600, -1, 0, 1, 3600])
def test_hot_path_hands_on_outside_the_range_even_in_a_compiled_chunk(engines, bound, step):
    compiled, reference = engines
    inside = bound + timedelta(seconds=-1 if bound is HORIZON else 0)
    compiled.state_at("acme-support", inside)  # compiles the chunk that straddles the bound
    at = bound + timedelta(seconds=step)
    expected = reference.state_at("acme-support", at)
    for form in (at, at.timestamp(), int(at.timestamp())):
        assert compiled.state_at("acme-support", form) == expected


def test_a_tzinfo_without_offset_is_read_as_the_owners_wall_clock(engines):
    compiled, reference = engines
    wall = datetime(2027, 7, 5, 12, 30)
    compiled.state_at("acme-london", datetime(2027, 7, 5, 11, tzinfo=UTC))  # warm: the hot path is asked
    expected = reference.state_at("acme-london", wall)
    assert compiled.state_at("acme-london", wall.replace(tzinfo=NoOffset())) == expected
    assert compiled.state_at("acme-london", wall) == expected
    assert expected.at == wall.replace(tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)


def test_every_instant_form_gives_one_answer(engines):
    compiled, reference = engines
    at = datetime(2027, 11, 25, 17, 0, 0, 250_000, tzinfo=UTC)
    expected = reference.state_at("acme-support", at)
    forms = [at, at.timestamp(), at.astimezone(ZoneInfo("America/New_York")), at.isoformat(),
             at.astimezone(timezone(timedelta(hours=5, minutes=30)))]
    for form in forms:
        got = compiled.state_at("acme-support", form)
        assert got == expected and got.at == at and got.at.tzinfo is UTC
    whole = at.replace(microsecond=0)
    assert compiled.state_at("acme-support", int(whole.timestamp())) == reference.state_at("acme-support", whole)


def test_until_is_read_from_the_chunk_even_after_the_cache_dropped_it():
    engine = Engine.from_file(DEMO, max_chunks=2)
    reference = Engine.from_file(DEMO, mode="reference")
    at = datetime(2027, 12, 24, 23, 59, tzinfo=UTC)
    result = engine.state_at("acme-support", at)
    for month in range(1, 13):  # push the chunk out of the two-chunk cache
        engine.state_at("acme-support", datetime(2030, month, 1, tzinfo=UTC))
    assert result == reference.state_at("acme-support", at)
    assert result.until == reference.state_at("acme-support", at).until is not None


def test_results_pickle_and_copy_as_their_fields(engines):
    compiled, reference = engines
    at = datetime(2027, 7, 5, 14, 30, tzinfo=UTC)
    result = compiled.state_at("acme-events", at.timestamp())
    for clone in (pickle.loads(pickle.dumps(result)), copy.copy(result), copy.deepcopy(result)):
        assert clone == result == reference.state_at("acme-events", at)
        assert clone._asdict() == result._asdict()
    assert len(pickle.dumps(result)) < 1000  # the fields, not the compiled chunk
    assert hash(result) == hash(reference.state_at("acme-events", at))


@pytest.mark.parametrize("mode", ["compiled", "reference"])
def test_flow_params_are_read_only_and_results_with_them_hash_and_pickle(mode):
    engine = Engine.from_file(DEMO, mode=mode)
    monday, tuesday = datetime(2027, 3, 1, 15, tzinfo=UTC), datetime(2027, 3, 2, 15, tzinfo=UTC)
    result = engine.state_at("acme-support", monday)
    expected = {"greeting": {"stringValue": "Thanks for calling Acme Support."},
                "queue": {"stringValue": "support-tier1"}}
    assert result.flow_params == expected
    with pytest.raises(TypeError):  # shared by every result with this outcome: nobody may change it
        result.flow_params["queue"]["stringValue"] = "changed"
    with pytest.raises(TypeError):
        result.flow_params["extra"] = {}
    later = engine.state_at("acme-support", tuesday)
    assert later.flow_params == expected
    assert hash(result) == hash(engine.state_at("acme-support", monday))
    assert pickle.loads(pickle.dumps(result)) == copy.deepcopy(result) == result
    assert json.loads(json.dumps(result.to_json()))["flowParams"] == expected
    assert type(result.to_json()["flowParams"]["queue"]) is dict  # a copy the caller may change
    assert "mappingproxy" not in repr(result)


def test_caches_stay_bounded_when_queries_spread_over_centuries():
    engine = Engine.from_file(DEMO, max_chunks=8)
    reference = Engine.from_file(DEMO, mode="reference")
    for year in range(1900, 2200, 7):
        at = datetime(year, 12, 20, 23, 59, tzinfo=UTC)  # the last piece of its chunk, often
        assert engine.state_at("acme-support", at).until == reference.state_at("acme-support", at).until
    forms = engine._store.forms.values()
    assert sum(len(form.chunks) for form in forms) <= 8
    assert sum(len(form.tails) for form in forms) <= 8
