"""What changed between two versions of named things (devices, rules, profiles), as a reload
reports it. Pure."""

from __future__ import annotations

from collections.abc import Mapping

import attrs


@attrs.frozen
class Changes:
    """Names added, removed and changed; a changed attrs instance is named with the fields that
    changed ("core-rtr-01 (host, community)": never their values, which may be secrets)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def describe(self, what: str) -> str:
        """'devices: added a, b; removed c' (empty when nothing changed)."""
        parts = [f"{verb} {', '.join(names)}" for verb, names in
                 (("added", self.added), ("removed", self.removed), ("changed", self.changed)) if names]
        return f"{what}: {'; '.join(parts)}" if parts else ""


def changed_fields(old: object, new: object) -> tuple[str, ...]:
    cls = type(new)
    if type(old) is not cls or not attrs.has(cls):
        return ()
    return tuple(f.name for f in attrs.fields(cls) if getattr(old, f.name) != getattr(new, f.name))


def diff(old: Mapping[str, object], new: Mapping[str, object]) -> Changes:
    changed = []
    for name in sorted(old.keys() & new.keys()):
        if old[name] != new[name]:
            fields = changed_fields(old[name], new[name])
            changed.append(f"{name} ({', '.join(fields)})" if fields else name)
    return Changes(
        added=tuple(sorted(new.keys() - old.keys())), removed=tuple(sorted(old.keys() - new.keys())), changed=tuple(changed)
    )
