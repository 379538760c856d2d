"""findata-api: the async HTTP service (Quart on Hypercorn) and the ``findata`` command."""

__version__ = "0.1.0"

__all__ = ["__version__"]
