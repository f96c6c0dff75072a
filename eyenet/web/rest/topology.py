"""The topology graph (JSON or Graphviz DOT), scoped, and discovery on demand."""

from __future__ import annotations

import logging

import attrs

from eyenet.auth.model import scope_allows
from eyenet.auth.tokens import Claims
from eyenet.events import rfc3339
from eyenet.topology.graph import Graph, dot
from eyenet.web.http import Response
from eyenet.web.rest.openapi import Operation, Param
from eyenet.web.rest.router import ApiError, Call, Router
from eyenet.web.rest.services import Services

log = logging.getLogger("eyenet.rest")

DOT = "text/vnd.graphviz; charset=utf-8"


@attrs.frozen
class TopologyRoutes:
    services: Services

    def register(self, router: Router) -> None:
        router.add("GET", "/api/topology", self.topology, Operation(
            "The topology graph: nodes and links (with local and remote port names)", "topology", "viewer", "Topology",
            query=(Param("format", {"enum": ["json", "dot"]}, "json (default) or dot: Graphviz"),),
            also=((DOT, "Dot"),),
            description="A scoped user sees the devices in its scope, the unmonitored neighbours linked to them, "
            "and the links between those.",
        ))
        router.add("POST", "/api/topology/discover", self.discover, Operation(
            "Run a discovery cycle now (changes arrive as topology:update)", "topology", "operator", "Accepted", status=202,
        ))

    def _scoped_graph(self, claims: Claims) -> Graph:
        graph = self.services.topology.graph
        if not claims.scope:
            return graph
        inventory = self.services.inventory
        managed = {
            n.id for n in graph.nodes.values()
            if n.managed and (tags := inventory.device_tags(n.id)) is not None and scope_allows(claims.scope, tags)
        }
        visible = set(managed)
        for link in graph.links:  # unmonitored neighbours of visible devices
            for a, b in ((link.source, link.target), (link.target, link.source)):
                if a in managed and not graph.nodes[b].managed:
                    visible.add(b)
        return Graph(
            {i: n for i, n in graph.nodes.items() if i in visible},
            frozenset(x for x in graph.links if x.source in visible and x.target in visible),
        )

    async def topology(self, call: Call) -> Response:
        form = call.request.arg("format") or "json"
        if form not in ("json", "dot"):
            raise ApiError("INVALID_PARAMETER", f"format: must be json or dot, not {form[:20]!r}")
        graph = self._scoped_graph(call.claims)
        if form == "dot":
            return Response.text(dot(graph), content_type=DOT)
        return Response.json({**graph.to_json(), "updatedAt": rfc3339(self.services.topology.updated_at, self.services.tz)})

    async def discover(self, call: Call) -> Response:
        self.services.topology.request()
        log.info("topology discovery requested by %s", call.claims.user_id)
        return Response.json({"status": "started"}, 202)
