"""The exception hierarchy: one module, drawn in its docstring, errors that survive
pickling and copying, messages that say each thing once."""

from __future__ import annotations

import copy
import inspect
import pickle
import re
from typing import Any

import pytest
import respx

import partner_async
from partner_async import (
    APIError,
    MultiStatusResult,
    PartnerError,
    RateLimitError,
    RequestInfo,
    ResponseFormatError,
    ResponseInfo,
    ServerError,
    SMSPartnerClient,
    _exceptions,
)

from ._fakes import API_KEY, SMS_BASE, FakeAPI, phones


def _exported_errors() -> dict[str, type[BaseException]]:
    return {
        name: obj
        for name, obj in vars(partner_async).items()
        if inspect.isclass(obj) and issubclass(obj, BaseException)
    }


def test_every_exported_error_is_defined_in_the_exceptions_module() -> None:
    for name, cls in _exported_errors().items():
        assert name in _exceptions.__all__, name
        assert getattr(_exceptions, name) is cls, name


def _drawn_tree() -> dict[str, str | None]:
    """{class name: parent name} as the module's docstring draws it."""
    assert _exceptions.__doc__
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []  # (column of the name, name)
    for line in _exceptions.__doc__.splitlines():
        match = re.match(r"^( *(?:[│ ]   )*(?:[├└]── )?)([A-Z]\w*Error)\b", line)
        if match is None:
            continue
        column, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= column:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((column, name))
    return parents


def test_the_docstring_draws_every_error_under_its_real_parent() -> None:
    tree = _drawn_tree()
    assert set(tree) == set(_exceptions.__all__)
    for name, parent in tree.items():
        cls = getattr(_exceptions, name)
        if parent is None:
            assert cls is PartnerError
        else:
            assert cls.__bases__[0].__name__ == parent, name


# ------------------------------------------------------------------ pickling and copying


def _sample(cls: type[PartnerError]) -> PartnerError:
    """An instance of ``cls`` built as the SDK builds it."""
    if issubclass(cls, APIError):
        return cls(9, "Validation error", status_code=400, errors=(("phoneNumber", "bad"),))
    if cls is ServerError:
        return ServerError("HTTP 503", status_code=503)
    if cls is ResponseFormatError:
        return ResponseFormatError("the answer is not JSON", status_code=200)
    return cls(f"a {cls.__name__}")


def _state(error: BaseException) -> tuple[Any, ...]:
    """What a user can read of an error (a result set compared by its content)."""
    attributes = dict(vars(error))
    partial = attributes.pop("partial_results", None)
    return (
        type(error),
        error.args,
        str(error),
        repr(error),
        attributes,
        None if partial is None else (partial.to_dict(), partial.get(phones(1)[0], "1")),
    )


async def _results() -> MultiStatusResult:
    """A real call's result set (it holds the client's normaliser), as ``partial_results``."""
    with respx.mock(using="httpx") as router:
        router.post(f"{SMS_BASE}/multi-status").mock(side_effect=FakeAPI())
        async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE) as c:
            results = await c.multi_status([(phones(1)[0], 1), ("not a number", 2)])
    assert len(results.answered) == len(results.unresolved) == 1
    return results


@pytest.mark.anyio
async def test_every_error_pickles_and_copies_with_all_its_attributes() -> None:
    partial = await _results()
    request = RequestInfo("POST", f"{SMS_BASE}/multi-status", "/v1/multi-status", 2, 1)
    response = ResponseInfo(request, 429, 0.25, content_type="application/json", retry_after="7")
    for name in _exceptions.__all__:
        error = _sample(getattr(_exceptions, name))
        error.request, error.response = request, response
        error.partial_results = partial
        if isinstance(error, RateLimitError):
            error.retry_after = 7.0
        vars(error)["__notes__"] = ["a note"]  # what add_note() keeps (Python 3.11+)
        try:
            raise error from OSError("the cause")
        except PartnerError:
            pass
        for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
            assert clone is not error
            assert _state(clone) == _state(error), name
        assert isinstance(copy.copy(error).__cause__, OSError)  # a copy keeps its chain


@pytest.mark.anyio
async def test_a_rate_limit_error_from_a_call_pickles_whole_and_without_the_key(
    router: respx.MockRouter,
) -> None:
    router.get(f"{SMS_BASE}/message-status").respond(
        200,
        json={"success": False, "code": 429, "message": "Too many"},
        headers={"Retry-After": "7"},
    )
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, max_retries=0) as c:
        with pytest.raises(RateLimitError) as caught:
            await c.message_status("0612345678", 1)
    error = caught.value
    assert error.retry_after == 7 and error.code == 429 and error.status_code == 200
    assert error.request is not None and error.response is not None
    data = pickle.dumps(error)
    clone = pickle.loads(data)
    assert _state(clone) == _state(error)
    assert (clone.retry_after, clone.code, clone.status_code) == (7, 429, 200)
    assert clone.request == error.request and clone.response == error.response
    assert API_KEY.encode() not in data
    assert API_KEY not in repr(clone) and API_KEY not in repr(vars(clone))


# ------------------------------------------------------------------------------ messages


@pytest.mark.anyio
@pytest.mark.parametrize(("code", "error_type"), [(429, RateLimitError), (500, APIError)])
async def test_a_transient_vendor_code_error_says_its_code_once(
    router: respx.MockRouter, code: int, error_type: type[APIError]
) -> None:
    body = {
        "success": False,
        "code": code,
        "message": "Busy",
        "errors": [{"elementId": "x", "message": "y"}],
    }
    router.get(f"{SMS_BASE}/message-status").respond(200, json=body)
    async with SMSPartnerClient(api_key=API_KEY, base_url=SMS_BASE, max_retries=0) as c:
        with pytest.raises(error_type) as caught:
            await c.message_status("0612345678", 1)
    error = caught.value
    assert str(error) == f"[code {code}] Busy (x: y)"  # the code once, the vendor's detail kept
    assert (error.code, error.message, error.errors) == (code, "Busy", (("x", "y"),))
    assert error.status_code == 200 and error.request is not None
