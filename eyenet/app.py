"""The root nursery: one task per configured device, sharing one SNMP client."""

import logging
import random

import trio

from .config import Config, DeviceConfig
from .snmp import SnmpClient, SnmpError, Target, TAG_NAMES
from .snmp.display import printable_text

log = logging.getLogger("eyenet")

SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)


def device_target(device: DeviceConfig, config: Config) -> Target:
    s = config.snmp
    return Target(
        host=device.host, port=device.port, version=device.version, community=device.community,
        timeout=s.timeout, retries=s.retries, max_repetitions=s.max_repetitions, max_repetitions_cap=s.max_repetitions_cap,
    )


async def watch_device(client: SnmpClient, device: DeviceConfig, config: Config) -> None:
    """Reachability of one device: logs each change between answering and not."""
    target = device_target(device, config)
    await trio.sleep(random.uniform(0, min(device.poll_interval, 5.0)))  # spread the first polls
    answering = None
    while True:
        try:
            name, uptime = await client.get(target, [SYS_NAME, SYS_UPTIME])
        except SnmpError as exc:
            if answering is not False:
                log.warning("%s: no answer: %s", device.id, exc)
            answering = False
        else:
            if answering is not True:
                shown = printable_text(name.value) if TAG_NAMES.get(name.tag) == "STRING" else None
                log.info("%s: answers, sysName %r, up %s s", device.id, shown, (uptime.value or 0) // 100)
            answering = True
        await trio.sleep(device.poll_interval)


async def run(config: Config) -> None:
    if not config.devices:
        log.warning("%s lists no devices: nothing to poll", config.path)
    log.info("polling %d device(s) from %s", len(config.devices), config.path)
    async with SnmpClient.open(max_in_flight=config.snmp.max_in_flight) as client:
        async with trio.open_nursery() as nursery:
            for device in config.devices:
                nursery.start_soon(watch_device, client, device, config)
