"""Every recording matches the profile of its own family, and no other family's: by
sysObjectID first, tight sysDescr patterns second (an OS never taken for its namesake)."""

from __future__ import annotations

import agents
import pytest

from eyenet.collect.identity import display_text
from eyenet.collect.profiles import load_profiles, match

# The profile each recording's family has ("generic": none yet, the standard MIBs only).
FAMILY = {
    "arista_eos_vrf": "arista-eos", "arubaos-cx": "aruba-aoscx", "arubaos-cx_10.10": "aruba-aoscx",
    "arubaos-cx_8360": "aruba-aoscx", "asa": "cisco-asa", "awplus_5.4.8-2": "alliedtelesis-awplus", "boss_ers4950": "extreme-boss",
    "ciena-sds": "ciena-saos", "comware": "hpe-comware", "comware_a5500": "hpe-comware", "cumulus_edgecore-as4610-54p": "generic",
    "dell-os10": "dell-os10", "dell-sonic": "dell-sonic", "dnos_z9100-on": "dell-dnos",
    "edgeswitch_es-24-250w": "ubiquiti-edgeswitch", "edgeswitch_us-8-v2": "ubiquiti-edgeswitch",
    "fortigate_1500d": "fortinet-fortigate", "fortigate_60f3g4g": "fortinet-fortigate",
    "fortigate_60fospfv3": "fortinet-fortigate", "gaia_15600": "checkpoint-gaia", "ios_2960x": "cisco-ios",
    "iosxe_c9500h-svl": "cisco-ios", "iosxe_ie32008t2s-ios17-12": "generic", "iosxr_asr9901": "cisco-iosxr",
    "ironware": "extreme-ironware", "jetstream_sg2218p": "tplink-jetstream", "junos_qfx5100": "juniper-junos", "junos_rpm": "juniper-junos",
    "junos_vmx": "juniper-junos", "linux_icecast": "linux-netsnmp", "linux_raspberrypi-gpiomonitor": "linux-netsnmp",
    "nxos_n3k-3064pq": "cisco-nxos", "panos_440": "paloalto-panos", "panos_vsys": "paloalto-panos", "powerconnect_2824": "dell-powerconnect",
    "procurve": "hpe-procurve", "procurve_e2910": "hpe-procurve", "routeros_crs317": "mikrotik-routeros",
    "routeros_rb433gl": "mikrotik-routeros", "routeros_rb750gr3": "mikrotik-routeros", "sonicwall_sonicos7": "sonicwall-sonicos",
    "timos_7705": "nokia-timos", "timos_ixr": "nokia-timos", "vmware-esxi": "vmware-esxi", "voss_8608": "extreme-voss",
    "vrp_5720": "huawei-vrp", "vrp_ac6605-26": "huawei-vrp", "vrp_ne8000-m8": "huawei-vrp", "zynos_gs1900-fdb": "zyxel-zynos",
}
# Families built on another's OS, whose profile may follow their own: Gaia is Linux with
# net-snmp (its sysDescr starts "Linux"), and the Linux methods are its fallback.
BUILT_ON = {"checkpoint-gaia": {"linux-netsnmp"}}
SYS_DESCR, SYS_OBJECT_ID = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0"


def system_group(name: str) -> tuple[str, str]:
    """(sysObjectID, sysDescr) of a recording, as read_device sees them."""
    found = {}
    for line in (agents.SNMPREC_DIR / f"{name}.snmprec").read_text(encoding="utf-8", errors="replace").splitlines():
        oid, tag, value = line.split("|", 2)
        if oid in (SYS_DESCR, SYS_OBJECT_ID):
            found[oid] = bytes.fromhex(value) if tag == "4x" else value.encode()
    return found.get(SYS_OBJECT_ID, b"").decode(), display_text(found.get(SYS_DESCR))


def test_every_recording_has_a_family():
    assert set(FAMILY) == set(agents.recording_names(agents.SNMPREC_DIR))


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_a_recording_matches_its_familys_profile_and_no_other(name):
    oid, descr = system_group(name)
    matched = [p.name for p in match(load_profiles().profiles, oid, descr)]
    assert matched[0] == FAMILY[name]
    # Only its own family's profile (and the catch-all) applies: no other family's methods are tried.
    assert set(matched) <= {FAMILY[name], "generic"} | BUILT_ON.get(FAMILY[name], set()), matched


@pytest.mark.parametrize("oid, descr, not_profile", [
    ("1.3.6.1.4.1.9.1.2658", "Cisco IOS XR Software (ASR9K), Version 6.6.3", "cisco-ios"),
    ("1.3.6.1.4.1.9.1.2658", "Cisco IOS-XR Software, Version 7.5.2", "cisco-ios"),
    ("1.3.6.1.4.1.4413.1.2.1.2.34", "SONiC Software Version: SONiC.4.4.1-Lite", "ubiquiti-edgeswitch"),
    ("1.3.6.1.4.1.4413.1.1", "EdgeSwitch 24-Port 250W, 1.8.0", "dell-sonic"),
])
def test_an_os_is_never_taken_for_its_namesake(oid, descr, not_profile):
    assert not_profile not in [p.name for p in match(load_profiles().profiles, oid, descr)]
