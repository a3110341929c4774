"""fleetgov: is every gateway node running the configuration the authority intends?"""

from __future__ import annotations

from fleetgov._native import __version__
from fleetgov.exceptions import (
    AuditTampered,
    Conflict,
    EngineClosed,
    FleetError,
    FutureHeartbeat,
    InternalError,
    InvalidInput,
    JustificationRequired,
    NotFound,
    PermissionDenied,
    StaleHeartbeat,
    StorageError,
)
