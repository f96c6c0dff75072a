"""EyeNet's own next hops, sans-io: the gateways of the host's routing table.

The monitored device holding one of them is where EyeNet's traffic enters the network:
the first choice of default root for alert suppression (graph.default_root). The text is
Linux's /proc/net/route and /proc/net/ipv6_route (the service reads them; elsewhere there
is none, and the choice falls to the next rules).
"""

from __future__ import annotations

import ipaddress

_RTF_GATEWAY = 0x0002


def gateways(route: str = "", ipv6_route: str = "") -> frozenset[str]:
    """The next hops of every route through a gateway; lines that do not parse are skipped."""
    out: set[str] = set()
    for line in route.splitlines()[1:]:  # a header line first
        fields = line.split()
        try:
            if len(fields) >= 4 and int(fields[3], 16) & _RTF_GATEWAY:
                out.add(str(ipaddress.IPv4Address(int(fields[2], 16).to_bytes(4, "little"))))
        except ValueError:
            continue
    for line in ipv6_route.splitlines():  # no header
        fields = line.split()
        try:
            if len(fields) >= 9 and int(fields[8], 16) & _RTF_GATEWAY:
                out.add(str(ipaddress.IPv6Address(bytes.fromhex(fields[4]))))
        except ValueError:
            continue
    return frozenset(out)
