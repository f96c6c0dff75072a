"""What the REST resources share: EyeNet's services, the server's clock format, and the
device scope of a user.

Device scope: a scoped user sees only devices that carry one of its tags; any other
device is answered 404, as if it did not exist, so ids do not leak.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone, tzinfo

import attrs

from eyenet.alerts.service import AlertService
from eyenet.anomaly.service import MlService
from eyenet.auth.model import scope_allows
from eyenet.auth.tokens import Claims, TokenAuthority
from eyenet.devices.inventory import Inventory, Monitored
from eyenet.events import rfc3339
from eyenet.store.db import Store
from eyenet.topology.service import TopologyService
from eyenet.web.rest.errors import ApiError


@attrs.define
class Counters:
    """What /metrics tells about the API itself."""

    started_at: float = attrs.Factory(time.time)
    requests: Counter[tuple[str, str, int]] = attrs.Factory(Counter)  # (method, route, status)
    failed_logins: int = 0


@attrs.frozen
class Services:
    inventory: Inventory
    store: Store
    alerts: AlertService
    topology: TopologyService
    ml: MlService
    authority: TokenAuthority
    tz: tzinfo | None = None  # of the timestamps answered; None: the server's
    counters: Counters = attrs.Factory(Counters)

    def time(self, unix: int) -> str:
        return rfc3339(datetime.fromtimestamp(unix, timezone.utc), self.tz)

    def visible_device(self, claims: Claims, device_id: str) -> Monitored:
        """The device, if the user may see it; NOT_FOUND either way otherwise."""
        monitored = self.inventory.get(device_id)
        if monitored is None or not scope_allows(claims.scope, monitored.config.tags):
            raise ApiError("NOT_FOUND", f"no device {device_id!r}")
        return monitored

    def scoped_devices(self, claims: Claims) -> list[str] | None:
        """The device ids a scoped user sees; None: every device, also those no longer monitored."""
        if not claims.scope:
            return None
        return [m.id for m in self.inventory.devices() if scope_allows(claims.scope, m.config.tags)]
