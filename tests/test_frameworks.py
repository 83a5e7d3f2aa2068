"""Public values in a web framework: a FastAPI endpoint annotated to return them (or with
``response_model=``) writes each as its ``to_dict()``; the OpenAPI schema builds."""

from __future__ import annotations

from typing import Union

import fastapi
import httpx
import pytest

from partner_async import (
    CallStats,
    MultiStatusResult,
    Progress,
    SMSBulkReport,
    SMSRecipient,
    StatusQuery,
    StatusResult,
    Unresolved,
    UnresolvedReason,
)
from partner_async._normalize import make_normalizer

from .test_to_dict import ANSWERED

pytestmark = pytest.mark.anyio

LOST = Unresolved(StatusQuery("+33612345679", 2), UnresolvedReason.RATE_LIMITED, "HTTP 429", None)


async def test_endpoints_return_the_values_themselves() -> None:
    app = fastapi.FastAPI()

    @app.get("/one")
    def one() -> StatusResult:
        return ANSWERED

    @app.get("/outcomes")
    def outcomes() -> list[Union[StatusResult, Unresolved]]:  # noqa: UP007 - py3.10 runtime
        return [ANSWERED, LOST]

    @app.get("/report", response_model=SMSBulkReport)
    def report() -> object:
        return SMSBulkReport("111", (SMSRecipient("+33612345678", "Waiting", 1517934416),))

    @app.get("/results")
    def results() -> MultiStatusResult:
        index: dict[tuple[object, object], int] = {("+33612345678", 1226613): 0}
        return MultiStatusResult([ANSWERED], index, make_normalizer("FR"), CallStats())

    @app.get("/progress")
    def progress() -> Progress:
        return Progress(1, 2, 0, 1, 0, 0)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
        assert (await http.get("/one")).json() == ANSWERED.to_dict()
        assert (await http.get("/outcomes")).json() == [ANSWERED.to_dict(), LOST.to_dict()]
        assert (await http.get("/report")).json()["recipients"][0]["status"] == "Waiting"
        assert (await http.get("/results")).json()["counts_by_status"] == {"Delivered": 1}
        assert (await http.get("/progress")).json()["total"] == 2
        schema = (await http.get("/openapi.json")).json()  # documented, not an error
    answer = schema["paths"]["/one"]["get"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"]["type"] == "object"
    assert "answer for one query" in answer["schema"]["description"]
