"""The isolation budget: a batch refused because of some of its queries (codes 2, 6, 9,
50) is split to isolate them, spending at most ``isolation_budget`` extra requests."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from partner_async import (
    ConfigurationError,
    SMSPartnerClient,
    StatusResult,
    Unresolved,
    UnresolvedReason,
)

from ._fakes import API_KEY, SMS_BASE, FakeAPI, phones

pytestmark = pytest.mark.anyio

LANDLINE = "+33145678901"


def refuse_if(bad: Any) -> Any:
    """A ``respond`` refusing a whole request with code 9 when ``bad(item)`` holds for any."""

    def respond(body: dict[str, Any]) -> httpx.Response | None:
        if any(bad(item) for item in body["SMSStatut_List"]):
            return httpx.Response(
                200, json={"success": False, "code": 9, "message": "Not a mobile number"}
            )
        return None

    return respond


def client(**options: Any) -> SMSPartnerClient:
    return SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, max_retries=0, **options)


async def test_a_batch_refused_whole_costs_at_most_the_budget(fake_api: FakeAPI) -> None:
    fake_api.respond = refuse_if(lambda item: True)  # the server refuses everything
    queries = [(p, 1) for p in phones(5000)]
    async with client() as c:
        results = await c.multi_status(queries)
    assert len(fake_api.requests) == 10 * (1 + 32)  # not 10 * 999
    assert results.stats.requests == 330
    assert len(results.unresolved) == 5000
    assert {(o.reason, o.code) for o in results.unresolved} == {(UnresolvedReason.REJECTED, 9)}
    assert any("isolation budget of 32" in o.detail for o in results.unresolved)


@pytest.mark.parametrize("budget", [0, 2, 10])
async def test_the_budget_is_a_client_setting(
    fake_api: FakeAPI, budget: int, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.respond = refuse_if(lambda item: True)
    async with client(isolation_budget=budget, batch_size=500) as c:
        with caplog.at_level(logging.WARNING, logger="partner_async"):
            results = await c.multi_status([(p, 1) for p in phones(500)])
    assert len(fake_api.requests) == 1 + budget
    assert len(results.unresolved) == 500
    assert any("isolation budget" in r.getMessage() for r in caplog.records)


async def test_one_landline_is_still_isolated_within_the_budget(fake_api: FakeAPI) -> None:
    fake_api.respond = refuse_if(lambda item: item["phoneNumber"] == LANDLINE)
    queries = [(p, 1) for p in phones(499)]
    queries.insert(250, (LANDLINE, 1))
    async with client() as c:
        results = await c.multi_status(queries)
    [bad] = results.unresolved
    assert (bad.phone_number, bad.reason, bad.code) == (LANDLINE, UnresolvedReason.REJECTED, 9)
    assert "isolation budget" not in bad.detail
    assert len(fake_api.requests) <= 1 + 2 * 9  # two per level of halving, 9 levels for 500
    assert sum(type(o) is StatusResult for o in results) == 499


async def test_each_batch_has_its_own_budget(fake_api: FakeAPI) -> None:
    # every batch holds one landline: each is isolated, none starves the next
    queries = []
    for b in range(3):
        batch = [(p, 1) for p in phones(99, start=100 * b)]
        batch.insert(50, (f"+3314567890{b}", 1))
        queries += batch
    fake_api.respond = refuse_if(lambda item: item["phoneNumber"].startswith("+331"))
    async with client(batch_size=100, isolation_budget=14) as c:
        results = await c.multi_status(queries)
    assert [o.phone_number for o in results.unresolved] == [f"+3314567890{b}" for b in range(3)]
    assert all(isinstance(o, Unresolved) and "budget" not in o.detail for o in results.unresolved)


@pytest.mark.parametrize("bad", [-1, 1.5, "32", None, True])
def test_the_budget_is_validated(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="isolation_budget"):
        client(isolation_budget=bad)
