"""findata-api: the async HTTP service (Quart on Hypercorn) and the ``findata`` command.

``create_app`` builds the service; extensions read its configuration with
``current_settings()`` and answer errors with ``problem()`` (RFC 9457).
"""

from findata.api._app import EXTENSIONS, create_app
from findata.api._problems import PROBLEM_JSON, ProblemError, problem
from findata.api._settings import Secret, Settings, SettingsError, load_settings
from findata.api._state import AppState, app_state, current_settings

__version__ = "0.1.0"

__all__ = [
    "EXTENSIONS",
    "PROBLEM_JSON",
    "AppState",
    "ProblemError",
    "Secret",
    "Settings",
    "SettingsError",
    "__version__",
    "app_state",
    "create_app",
    "current_settings",
    "load_settings",
    "problem",
]
