"""What the REST resources share: EyeNet's services, the server's clock format, and the
access policy (eyenet.auth.access) as REST applies it: what a user may not see is answered
404, as if it did not exist, so ids do not leak.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone, tzinfo

import attrs

from eyenet.alerts.service import AlertService
from eyenet.anomaly.service import MlService
from eyenet.auth.access import Access
from eyenet.auth.backoff import LoginBackoff
from eyenet.auth.tokens import Claims, TokenAuthority
from eyenet.auth.watch import UserWatch
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
    users: UserWatch  # whose tokens still stand
    tz: tzinfo | None = None  # of the timestamps answered; None: the server's
    counters: Counters = attrs.Factory(Counters)
    access: Access = attrs.field(init=False, default=attrs.Factory(lambda self: Access(self.inventory.device_tags), takes_self=True))
    logins: LoginBackoff = attrs.field(init=False, default=attrs.Factory(lambda self: LoginBackoff.create(
        self.authority.settings.login_free_failures, self.authority.settings.address_free_failures,
        self.authority.settings.login_max_wait,
    ), takes_self=True))

    def time(self, unix: int) -> str:
        return rfc3339(datetime.fromtimestamp(unix, timezone.utc), self.tz)

    def visible_device(self, claims: Claims, device_id: str) -> Monitored:
        """The device, if the user may see it; NOT_FOUND either way otherwise."""
        monitored = self.inventory.get(device_id)
        if monitored is None or not self.access.monitored_device(claims.scope, device_id):
            raise ApiError("NOT_FOUND", f"no device {device_id!r}")
        return monitored

    def scoped_devices(self, claims: Claims) -> list[str] | None:
        """The device ids a scoped user sees; None: every device, also those no longer monitored."""
        return self.access.device_ids(claims.scope, (m.id for m in self.inventory.devices()))
