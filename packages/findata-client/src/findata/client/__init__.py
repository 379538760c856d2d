"""findata-client: the findata API from Python, as Arrow tables (or pandas/polars frames).

``Client`` blocks, ``AsyncClient`` awaits; both have the same methods (``symbols``,
``bars``, ``indicators``, ``splits``, ``dividends``), fetch the Arrow format, follow
every ``Link`` page, retry 429/503 after ``Retry-After`` and raise typed errors carrying
the problem+json fields.
"""

from findata.client._async import AsyncClient
from findata.client._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    FindataClientError,
    NotFoundError,
    RateLimitError,
    RetryableError,
    ServerError,
    ServiceUnavailableError,
    TransportError,
    UnexpectedResponseError,
)
from findata.client._frames import As, Frame
from findata.client._sync import Client

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "As",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "FindataClientError",
    "Frame",
    "NotFoundError",
    "RateLimitError",
    "RetryableError",
    "ServerError",
    "ServiceUnavailableError",
    "TransportError",
    "UnexpectedResponseError",
    "__version__",
]
