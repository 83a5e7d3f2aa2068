"""Ground truth, Waiting items turning final, phone normalisation, config validation."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import attrs
import pytest

from partner_async.sandbox import (
    FAULT_KINDS,
    FaultConfig,
    SandboxConfig,
    Truth,
    bulk_recipients,
    ground_truth,
    mail_bulk_recipients,
    mail_ground_truth,
    normalize_phone,
)

MULTI = "/v1/multi-status"


def random_pairs(count: int, seed: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    return [
        (f"+33{rng.choice('67')}{rng.randrange(10**8):08d}", rng.randrange(1, 10**7))
        for _ in range(count)
    ]


def waiting_pairs(count: int, config: SandboxConfig | None = None) -> list[tuple[str, int]]:
    found = [pair for pair in random_pairs(count * 20 + 200, seed=99)
             if ground_truth(*pair, config=config).status == "Waiting"]  # fmt: skip
    assert len(found) >= count
    return found[:count]


# ------------------------------------------------------------------------ ground truth


def test_status_mix_is_realistic() -> None:
    counts = Counter(ground_truth(p, m).status for p, m in random_pairs(20_000, seed=1))
    share = {status: n / 20_000 for status, n in counts.items()}
    assert share["Delivered"] == pytest.approx(0.70, abs=0.02)
    assert share["Not delivered"] == pytest.approx(0.12, abs=0.015)
    assert share["Waiting"] == pytest.approx(0.10, abs=0.015)
    assert share["Number not found"] == pytest.approx(0.08, abs=0.015)


def test_flags_are_rare() -> None:
    truths = [ground_truth(p, m) for p, m in random_pairs(20_000, seed=2)]
    found = [t for t in truths if t.success]
    assert sum(t.stop_sms for t in found) / len(found) == pytest.approx(0.02, abs=0.006)
    assert sum(t.is_spam for t in found) / len(found) == pytest.approx(0.01, abs=0.005)


def test_ground_truth_is_deterministic_and_seeded() -> None:
    pairs = random_pairs(200, seed=3)
    assert [ground_truth(*p) for p in pairs] == [ground_truth(*p, seed=0) for p in pairs]
    other = [ground_truth(*p, seed=5) for p in pairs]
    assert other != [ground_truth(*p) for p in pairs]
    assert other == [ground_truth(*p, config=SandboxConfig(seed=5)) for p in pairs]
    # an explicit seed wins over the config's
    assert other == [ground_truth(*p, seed=5, config=SandboxConfig(seed=9)) for p in pairs]


def test_truth_fields() -> None:
    truth = next(ground_truth(*p) for p in random_pairs(50, seed=4)
                 if ground_truth(*p).status == "Delivered")  # fmt: skip
    assert truth.success is True
    assert truth.code == 200
    assert truth.final is True
    assert isinstance(truth.date, int)
    assert 1_500_000_000 < truth.date < 1_700_000_000
    assert truth.phone_number.startswith("+33")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        truth.code = 4  # type: ignore[misc]


def test_national_forms_share_the_truth() -> None:
    base = ground_truth("+33612345678", 77)
    forms: list[object] = ["0612345678", "06 12 34 56 78", "06.12.34.56.78", "0033612345678"]
    forms += ["33612345678", "+33 6 12 34 56 78", "+33 (0)6 12 34 56 78", 33612345678]
    for form in forms:
        assert ground_truth(form, 77) == base


def test_invalid_items() -> None:
    strict = SandboxConfig(item_errors="entry")
    assert ground_truth(None, 1, config=strict).code == 2
    assert ground_truth("", 1, config=strict).code == 2
    assert ground_truth("06xxxxxxx2", 1, config=strict).code == 6
    assert ground_truth("+33145678901", 1, config=strict).code == 9
    assert ground_truth("+33612345678", None, config=strict).code == 3
    # by default, as the vendor's page answers its own sample request: not found
    for phone, mid in ((None, 1), ("06xxxxxxx2", 1), ("+33145678901", 1), ("+33612345678", None)):
        truth = ground_truth(phone, mid)
        assert (truth.success, truth.code, truth.wire_status) == (False, 4, "Number not found")
    assert ground_truth("+33612345678", "abc").code == 4
    assert ground_truth("+33612345678", "abc", config=SandboxConfig(language="fr")) == Truth(
        "+33612345678", "abc", False, 4, "Number not found", "Numéro introuvable",
        None, False, False, True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+33612345678", (0, "+33612345678")),
        ("+33712345678", (0, "+33712345678")),
        ("0712345678", (0, "+33712345678")),
        ("07-12-34-56-78", (0, "+33712345678")),
        ("+447911123456", (0, "+447911123456")),
        ("00447911123456", (0, "+447911123456")),
        ("+33112345678", (9, "+33112345678")),
        ("+3361234567", (6, "+3361234567")),
        ("+33 6 12", (6, "+33612")),
        ("+1234567", (6, "+1234567")),
        ("+1234567890123456", (6, "+1234567890123456")),
        ("phone", (6, "phone")),
        ("+336\uff112345678", (6, "+336\uff112345678")),  # a full-width digit
        ("   ", (2, "   ")),
        (None, (2, "")),
        (12.5, (6, "12.5")),
    ],
)
def test_normalize_phone(raw: Any, expected: tuple[int, str]) -> None:
    assert normalize_phone(raw) == expected


def test_waiting_turns_final_after_polls() -> None:
    config = SandboxConfig(waiting_polls=2)
    for pair in waiting_pairs(20, config):
        first, second, third, later = (ground_truth(*pair, polls=n, config=config)
                                       for n in (0, 1, 2, 10))  # fmt: skip
        assert first == second
        assert first.status == "Waiting"
        assert first.final is False
        assert third.final is True
        assert third.status in ("Delivered", "Not delivered")
        assert third == later
        assert third.date is not None
        assert first.date is not None
        assert third.date > first.date


def test_waiting_rules() -> None:
    pair = waiting_pairs(1)[0]
    assert ground_truth(*pair, polls=0, config=SandboxConfig(waiting_polls=0)).final
    never = SandboxConfig(waiting_polls=None)
    assert not ground_truth(*pair, polls=1000, config=never).final
    timed = SandboxConfig(waiting_polls=None, waiting_seconds=30)
    assert not ground_truth(*pair, elapsed=29.9, config=timed).final
    assert ground_truth(*pair, elapsed=30, config=timed).final
    assert not ground_truth(*pair, config=timed).final  # elapsed unknown


def test_both_outcomes_of_waiting_happen() -> None:
    config = SandboxConfig(waiting_polls=0)
    outcomes = Counter(ground_truth(*pair, config=config).status for pair in waiting_pairs(200))
    assert set(outcomes) == {"Delivered", "Not delivered"}


def test_bulk_recipients_statuses() -> None:
    for mid in range(1, 60):
        phones = bulk_recipients(mid)
        if phones is None:
            continue
        assert len(set(phones)) == len(phones)
        assert all(ground_truth(phone, mid).success for phone in phones)
    assert bulk_recipients("nope") is None


def test_mail_recipients() -> None:
    emails = mail_bulk_recipients("300")
    assert emails is not None
    assert emails == mail_bulk_recipients(300)
    assert all("@example." in email for email in emails)
    statuses = Counter(
        truth.status
        for n in range(1000, 1100)
        for email in mail_bulk_recipients(str(n)) or ()
        if (truth := mail_ground_truth(email, str(n))) is not None
    )
    assert set(statuses) == {"Delivered", "Not delivered", "Waiting"}


# ------------------------------------------------------------------------ config


def test_config_defaults() -> None:
    config = SandboxConfig()
    assert config.api_keys == ("sandbox",)
    assert config.seed == 0
    assert config.waiting_polls == 2
    assert config.waiting_seconds is None
    assert config.faults == FaultConfig()
    assert not config.faults.enabled
    assert "sandbox" not in repr(config)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seed": "1"},
        {"api_keys": ()},
        {"api_keys": ("",)},
        {"api_keys": 5},
        {"latency": -1},
        {"latency": float("nan")},
        {"waiting_polls": -1},
        {"waiting_seconds": -0.1},
        {"status_spellings": "fancy"},
        {"language": "de"},
        {"item_errors": "item"},
        {"field_variants": 1},
        {"max_items": 0},
        {"clock": 3},
        {"faults": {"http_503": 0.5}},
    ],
)
def test_config_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        SandboxConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"http_503": 1.5},
        {"http_503": -0.1},
        {"http_503": True},
        {"http_503": 0.6, "http_500": 0.6},
        {"retry_after": -1},
        {"retry_after": 1.5},
        {"slow_seconds": -1},
        {"server_error_body": "json"},
        {"schedule": {0: "explode"}},
        {"schedule": {-1: "http_503"}},
        {"schedule": [0]},
    ],
)
def test_fault_config_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        FaultConfig(**kwargs)


def test_fault_config() -> None:
    faults = FaultConfig(http_503=0.25, schedule={3: "slow", 4: "none", 5: None})
    assert faults.rates()["http_503"] == 0.25
    assert list(faults.rates()) == list(FAULT_KINDS)
    assert faults.schedule == {3: "slow", 4: None, 5: None}
    assert faults.enabled
    assert FaultConfig(schedule={0: None}).enabled is False
    api_keys = SandboxConfig(api_keys="solo").api_keys
    assert api_keys == ("solo",)
