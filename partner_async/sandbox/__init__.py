"""A faithful, fast, deterministic emulator of the SMS Partner / Mail Partner
delivery-status APIs, for demos, tests and benchmarks.

It serves the vendor's endpoints as a plain ASGI app: ``POST /v1/multi-status``,
``GET /v1/bulk-status``, ``GET /mail/v1/bulk-status``, ``GET /v1/message-status``,
``GET /v1/bulk-status-by-tag`` and ``GET /v1/statistics/cost-resume``, in the documented
JSON and XML shapes. Every answer derives from a seed (:func:`ground_truth` tells it in advance),
``Waiting`` items turn final after some polls or seconds, and faults (HTTP 429/5xx, slow
or cut answers, broken bodies, dropped or reordered entries...) can be injected at rates
or on a schedule. The sandbox is independent of the SDK's internals: testing the SDK
against it is testing against the documented vendor behaviour.

In-process::

    app = create_app(SandboxConfig(seed=1))
    async with httpx.AsyncClient(transport=SandboxTransport(app)) as http:
        client = SMSPartnerClient(api_key="sandbox", base_url="http://127.0.0.1/v1",
                                  http_client=http)

On loopback (needs uvicorn)::

    with SandboxServer(SandboxConfig(seed=1)) as server:
        print(server.sms_base_url, server.mail_base_url)

From a shell: ``python -m partner_async.sandbox --port 8080``. In pytest: the fixtures of
:mod:`partner_async.sandbox.pytest_plugin`.
"""

from ._app import SandboxApp, SandboxStats, create_app
from ._clock import VirtualClock
from ._config import FAULT_KINDS, FaultConfig, SandboxConfig
from ._server import SandboxServer, serve
from ._transport import SandboxTransport
from ._truth import (
    MESSAGES,
    STATUS_SPELLINGS,
    VENDOR_WORDING,
    CostRowTruth,
    MailTruth,
    Truth,
    bulk_recipients,
    cost_rows,
    ground_truth,
    local_date,
    mail_bulk_recipients,
    mail_ground_truth,
    normalize_phone,
    tag_message_id,
)

__all__ = [
    "CostRowTruth",
    "FAULT_KINDS",
    "FaultConfig",
    "MESSAGES",
    "MailTruth",
    "STATUS_SPELLINGS",
    "SandboxApp",
    "SandboxConfig",
    "SandboxServer",
    "SandboxStats",
    "SandboxTransport",
    "Truth",
    "VENDOR_WORDING",
    "VirtualClock",
    "bulk_recipients",
    "cost_rows",
    "create_app",
    "ground_truth",
    "local_date",
    "mail_bulk_recipients",
    "mail_ground_truth",
    "normalize_phone",
    "serve",
    "tag_message_id",
]
