"""The public face: names, module reporting, typing marker."""

from __future__ import annotations

import inspect
from pathlib import Path

import partner_async


def test_all_is_sorted_and_complete() -> None:
    public = {
        name
        for name, obj in vars(partner_async).items()
        if not name.startswith("_") and not inspect.ismodule(obj)
    }
    assert sorted(partner_async.__all__) == partner_async.__all__
    assert set(partner_async.__all__) - {"__version__"} == public


def test_exported_names_report_partner_async_as_their_module() -> None:
    for name in partner_async.__all__:
        obj = getattr(partner_async, name)
        if inspect.isclass(obj):
            assert obj.__module__ == "partner_async", name


def test_every_public_name_has_a_docstring() -> None:
    for name in partner_async.__all__:
        obj = getattr(partner_async, name)
        if inspect.isclass(obj):
            assert obj.__doc__ and obj.__doc__.strip(), name


def test_contract_names_exist() -> None:
    for name in (
        "SMSPartnerClient",
        "MailPartnerClient",
        "StatusQuery",
        "DeliveryStatus",
        "PartnerError",
        "APIError",
        "AuthenticationError",
    ):
        assert name in partner_async.__all__


def test_package_ships_py_typed() -> None:
    assert (Path(partner_async.__file__).parent / "py.typed").exists()


def test_exception_hierarchy_is_rooted_at_partner_error() -> None:
    for name in partner_async.__all__:
        obj = getattr(partner_async, name)
        if inspect.isclass(obj) and issubclass(obj, Exception):
            assert issubclass(obj, partner_async.PartnerError), name


def test_not_given_is_exported_and_distinct_from_none() -> None:
    assert repr(partner_async.NOT_GIVEN) == "NOT_GIVEN"
    assert partner_async.NOT_GIVEN is not None
    assert type(partner_async.NOT_GIVEN).__doc__


def test_every_error_has_a_status_code_attribute() -> None:
    for name in partner_async.__all__:
        obj = getattr(partner_async, name)
        if inspect.isclass(obj) and issubclass(obj, Exception):
            assert hasattr(obj, "status_code"), name


def test_transient_reasons_are_the_ones_wait_for_final_asks_again() -> None:
    from partner_async import UnresolvedReason

    transient = {r for r in UnresolvedReason if r.is_transient}
    assert transient == {
        UnresolvedReason.MISSING_FROM_RESPONSE,
        UnresolvedReason.RATE_LIMITED,
        UnresolvedReason.SERVER_ERROR,
        UnresolvedReason.TRANSPORT_ERROR,
        UnresolvedReason.MALFORMED_RESPONSE,
    }  # not INVALID_QUERY, REJECTED or DEADLINE_EXCEEDED: asking again changes nothing
