"""partner-async: an async SDK for the SMS Partner and Mail Partner delivery-status APIs.

>>> from partner_async import SMSPartnerClient
>>> async with SMSPartnerClient() as client:  # doctest: +SKIP
...     results = await client.multi_status(pairs)
"""

import logging as _logging

from ._client import MailPartnerClient, SMSPartnerClient
from ._clock import AnyioClock, Clock
from ._config import NOT_GIVEN, NotGiven
from ._events import RequestInfo, ResponseInfo, setup_logging
from ._exceptions import (
    APIError,
    AuthenticationError,
    ClientClosedError,
    ConfigurationError,
    InputError,
    InsufficientCreditError,
    InvalidInputError,
    InvalidRequestError,
    MessageIdRequiredError,
    MessageNotFoundError,
    PartnerError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResponseFormatError,
    ResponseTooLargeError,
    ServerError,
    StoreError,
    TransportError,
)
from ._models import (
    MailBulkReport,
    MailRecipient,
    SMSBulkReport,
    SMSRecipient,
    StatusQuery,
    StatusResult,
    Unresolved,
    UnresolvedReason,
)
from ._reports import CostInterval, CostRow, CostStatistics, MessageStatus, TagStatusReport
from ._results import BatchResult, CallStats, MultiStatusResult, Progress, StatusUpdate
from ._retry import RetryPolicy
from ._status import DeliveryStatus
from ._tracker import StatusTracker, TrackerUpdate
from ._version import __version__

__all__ = [
    "APIError",
    "AnyioClock",
    "AuthenticationError",
    "BatchResult",
    "CallStats",
    "ClientClosedError",
    "Clock",
    "ConfigurationError",
    "CostInterval",
    "CostRow",
    "CostStatistics",
    "DeliveryStatus",
    "InputError",
    "InsufficientCreditError",
    "InvalidInputError",
    "InvalidRequestError",
    "MailBulkReport",
    "MailPartnerClient",
    "MailRecipient",
    "MessageIdRequiredError",
    "MessageNotFoundError",
    "MessageStatus",
    "MultiStatusResult",
    "NOT_GIVEN",
    "NotGiven",
    "PartnerError",
    "PermissionDeniedError",
    "Progress",
    "RateLimitError",
    "RequestInfo",
    "RequestTimeoutError",
    "ResponseFormatError",
    "ResponseInfo",
    "ResponseTooLargeError",
    "RetryPolicy",
    "SMSBulkReport",
    "SMSPartnerClient",
    "SMSRecipient",
    "ServerError",
    "StatusQuery",
    "StatusResult",
    "StatusTracker",
    "StatusUpdate",
    "StoreError",
    "TagStatusReport",
    "TrackerUpdate",
    "TransportError",
    "Unresolved",
    "UnresolvedReason",
    "__version__",
]

# A library's logger: records propagate to whatever the application configured, and
# nothing is printed when it configured nothing (no "last resort" stderr output).
_logging.getLogger(__name__).addHandler(_logging.NullHandler())

# Report public names as partner_async.X (as httpx and trio do), not as private modules.
for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__qualname__") and _obj.__module__.startswith("partner_async._"):
        _obj.__module__ = __name__  # classes and functions (NOT_GIVEN reports its class's)
del _name, _obj

setup_logging()  # PARTNER_ASYNC_LOG=debug|info
del setup_logging
