"""The topology graph (JSON or Graphviz DOT), scoped, and discovery on demand."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

import attrs
import msgspec
from msgspec import Meta

from eyenet.auth.tokens import Claims
from eyenet.events import DEVICE_TYPES, rfc3339
from eyenet.topology.graph import Graph, dot
from eyenet.web.http import Response
from eyenet.web.rest.openapi import Operation
from eyenet.web.rest.router import Call, Router, answer
from eyenet.web.rest.services import Services
from eyenet.web.rest.shapes import Timestamp, from_json

log = logging.getLogger("eyenet.rest")

DOT = "text/vnd.graphviz; charset=utf-8"
Dot = Annotated[str, Meta(description="the graph in Graphviz DOT (render with `dot -Tsvg`)")]


class TopologyQuery(msgspec.Struct):
    format: Annotated[Literal["json", "dot"], Meta(description="json (default) or dot: Graphviz")] = "json"


class TopologyNode(msgspec.Struct):
    id: str
    type: Literal[DEVICE_TYPES]
    name: str
    managed: Annotated[bool, Meta(description="false: a neighbour EyeNet does not monitor")]


class TopologyLink(msgspec.Struct, rename="camel"):
    source: str
    target: str
    source_port: str | None
    target_port: str | None
    protocol: Literal["lldp", "cdp", "cdp+lldp"]


class Topology(msgspec.Struct, rename="camel"):
    nodes: list[TopologyNode]
    links: list[TopologyLink]
    updated_at: Annotated[Timestamp | None, Meta(description="when the graph last changed; null before the first discovery")]


class Accepted(msgspec.Struct):
    status: Literal["started"]


@attrs.frozen
class TopologyRoutes:
    services: Services

    def register(self, router: Router) -> None:
        router.add("GET", "/api/topology", self.topology, Operation(
            "The topology graph: nodes and links (with local and remote port names)", "topology", "viewer", Topology,
            query=TopologyQuery, also=((DOT, Dot),),
            description="A scoped user sees the devices in its scope, the unmonitored neighbours linked to them, "
            "and the links between those.",
        ))
        router.add("POST", "/api/topology/discover", self.discover, Operation(
            "Run a discovery cycle now (changes arrive as topology:update)", "topology", "operator", Accepted, status=202,
        ))

    def _scoped_graph(self, claims: Claims) -> Graph:
        graph = self.services.topology.graph
        visible = self.services.access.topology(claims.scope, graph.nodes, ((x.source, x.target) for x in graph.links))
        if visible is None:
            return graph
        return Graph(
            {i: n for i, n in graph.nodes.items() if i in visible},
            frozenset(x for x in graph.links if x.source in visible and x.target in visible),
        )

    async def topology(self, call: Call) -> Response:
        graph = self._scoped_graph(call.claims)
        if call.query.format == "dot":
            return Response.text(dot(graph), content_type=DOT)
        shown = graph.to_json()
        return answer(Topology(
            [from_json(TopologyNode, n) for n in shown["nodes"]], [from_json(TopologyLink, x) for x in shown["links"]],
            rfc3339(self.services.topology.updated_at, self.services.tz),
        ))

    async def discover(self, call: Call) -> Response:
        self.services.topology.request()
        log.info("topology discovery requested by %s", call.claims.user_id)
        return answer(Accepted("started"), 202)
