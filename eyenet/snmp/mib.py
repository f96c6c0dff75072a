"""OIDs of the standard MIB objects several parts of EyeNet read (SNMPv2-MIB system group,
IF-MIB, HOST-RESOURCES-MIB storage)."""

from __future__ import annotations

from eyenet.snmp.values import Oid

# SNMPv2-MIB system group
SYS_DESCR: Oid = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_OBJECT_ID: Oid = (1, 3, 6, 1, 2, 1, 1, 2, 0)
SYS_UPTIME: Oid = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYS_NAME: Oid = (1, 3, 6, 1, 2, 1, 1, 5, 0)
IF_NUMBER: Oid = (1, 3, 6, 1, 2, 1, 2, 1, 0)  # ifNumber: rows in ifTable
IF_TABLE_LAST_CHANGE: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 5, 0)  # IF-MIB::ifTableLastChange (sysUpTime of the last row added or removed)

_IF = (1, 3, 6, 1, 2, 1, 2, 2, 1)  # IF-MIB::ifEntry
_IFX = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)  # IF-MIB::ifXEntry
IF_COLUMNS: dict[str, Oid] = {
    "ifDescr": _IF + (2,),
    "ifType": _IF + (3,),
    "ifMtu": _IF + (4,),
    "ifSpeed": _IF + (5,),
    "ifPhysAddress": _IF + (6,),
    "ifAdminStatus": _IF + (7,),
    "ifOperStatus": _IF + (8,),
    "ifLastChange": _IF + (9,),
    "ifInOctets": _IF + (10,),
    "ifInErrors": _IF + (14,),
    "ifOutOctets": _IF + (16,),
    "ifOutErrors": _IF + (20,),
    "ifName": _IFX + (1,),
    "ifHCInOctets": _IFX + (6,),
    "ifHCOutOctets": _IFX + (10,),
    "ifHighSpeed": _IFX + (15,),
    "ifAlias": _IFX + (18,),
    "ifCounterDiscontinuityTime": _IFX + (19,),
}

# HOST-RESOURCES-MIB::hrStorageEntry
_HR_STORAGE = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
HR_STORAGE_TYPE = _HR_STORAGE + (2,)
HR_STORAGE_DESCR = _HR_STORAGE + (3,)
HR_STORAGE_UNITS = _HR_STORAGE + (4,)
HR_STORAGE_SIZE = _HR_STORAGE + (5,)
HR_STORAGE_USED = _HR_STORAGE + (6,)
HR_STORAGE_COLUMNS = (HR_STORAGE_TYPE, HR_STORAGE_DESCR, HR_STORAGE_UNITS, HR_STORAGE_SIZE, HR_STORAGE_USED)
