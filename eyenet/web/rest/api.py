"""The REST API under /api, and /metrics for Prometheus: the resources' routes in one
router (router.py), and the OpenAPI document of that route table.

Each resource module registers its routes with their operations; this module puts
them together, counts the answers for /metrics and marks every answer uncacheable.
SNMP credentials are write-only: no response carries them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import tzinfo

import attrs

from eyenet import __version__
from eyenet.alerts.service import AlertService
from eyenet.anomaly.service import MlService
from eyenet.auth.tokens import TokenAuthority
from eyenet.auth.watch import UserWatch
from eyenet.config import WebSettings
from eyenet.devices.inventory import Inventory
from eyenet.events import to_json
from eyenet.health import Health
from eyenet.store.db import Store
from eyenet.topology.service import TopologyService
from eyenet.web.http import Request, Response
from eyenet.web.rest import openapi
from eyenet.web.rest.alerts import AlertRoutes
from eyenet.web.rest.auth import AuthRoutes
from eyenet.web.rest.devices import DeviceRoutes
from eyenet.web.rest.metrics import MetricsRoutes
from eyenet.web.rest.ml import MlRoutes
from eyenet.web.rest.router import Router
from eyenet.web.rest.rules import RuleRoutes
from eyenet.web.rest.services import Services
from eyenet.web.rest.system import SystemRoutes
from eyenet.web.rest.topology import TopologyRoutes
from eyenet.web.rest.traps import TrapRoutes
from eyenet.web.rest.users import UserRoutes
from eyenet.web.rest.windows import WindowRoutes

# Methods counted by name in eyenet_http_requests_total; others are "other", so a
# client cannot grow the label set.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class RestApi:
    """health_fn: component name -> its Health, for /api/health (the app's services; may be replaced).
    users: the watch over the users the push hub shares (the app's, which it runs); by default
    one of the API's own, which sees this process's changes and others' when a token asks."""

    def __init__(
        self,
        inventory: Inventory,
        store: Store,
        alerts: AlertService,
        topology: TopologyService,
        ml: MlService,
        authority: TokenAuthority,
        *,
        settings: WebSettings = WebSettings(),  # [web] of the configuration: metrics_auth
        health_fn: Callable[[], Mapping[str, Health]] | None = None,
        tz: tzinfo | None = None,
        users: UserWatch | None = None,
    ) -> None:
        self.health_fn = health_fn
        users = users or UserWatch(store)
        self.services = Services(inventory, store, alerts, topology, ml, authority, users, tz)
        self.topology = topology
        self.router = Router(authority, users)
        for resource in (
            AuthRoutes(self.services), DeviceRoutes(self.services), TrapRoutes(self.services), AlertRoutes(self.services), RuleRoutes(self.services),
            WindowRoutes(self.services), TopologyRoutes(self.services), MlRoutes(self.services), UserRoutes(self.services),
            SystemRoutes(self.services, lambda: self.health_fn() if self.health_fn is not None else {}, lambda: self._openapi_json),
            MetricsRoutes(self.services, needs_token=settings.metrics_auth),
        ):
            resource.register(self.router)
        self.openapi = openapi.document(
            ((r.method, r.path, r.operation) for r in self.router.routes), version=__version__
        )
        self._openapi_json = to_json(self.openapi)

    @property
    def failed_logins(self) -> int:
        return self.services.counters.failed_logins

    async def http(self, request: Request) -> Response:
        route, response = await self.router.dispatch(request)
        method = request.method if request.method in METHODS else "other"
        label = "unmatched" if route is None else route.path
        self.services.counters.requests[(method, label, response.status)] += 1
        # Live data and tokens: nothing here is for a cache to keep.
        return attrs.evolve(response, headers=(*response.headers, ("cache-control", "no-store")))
