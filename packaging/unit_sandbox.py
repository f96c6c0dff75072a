"""Start a command the way systemd starts a unit's service, on a machine whose PID 1 is not systemd.

    /usr/bin/python3 packaging/unit_sandbox.py [--root DIR] UNIT -- COMMAND [ARG...]
    /usr/bin/python3 packaging/unit_sandbox.py --print UNIT

Run as root with Debian's python3 and python3-seccomp (libseccomp's binding; pyenv or venv
interpreters do not see it) and systemd-analyze on PATH. packaging/smoke.sh starts `eyenet run`
in its Debian root with it, so that a system call or socket family that eyenet.service forbids
shows up there rather than first on a real host. From the unit's [Service] section, in
systemd's order (exec_child: the syscall filter goes last, because chroot, setgroups and
setresuid are among what it forbids):

  1. builds the seccomp filters, while the host's libraries are still reachable:
     RestrictAddressFamilies= (socket() of another family fails with EAFNOSUPPORT),
     MemoryDenyWriteExecute= as systemd 252 (Debian 12) has it (EPERM for mmap() writable and
     executable, mprotect() and pkey_mprotect() to executable, shmat() with SHM_EXEC), and
     SystemCallFilter= with its @groups expanded from `systemd-analyze syscall-filter` (the
     host's systemd: 252 on Debian 12, as in the root), failing with SystemCallErrorNumber=;
     native architecture only (SystemCallArchitectures=native);
  2. chroot DIR; Limit*= (setrlimit, still as root); UMask=;
  3. Group= and User= as DIR/etc/passwd and DIR/etc/group give them (supplementary groups as
     initgroups makes them), and $USER $LOGNAME $HOME $SHELL, as systemd sets them;
  4. WorkingDirectory=, as the user;
  5. NoNewPrivileges= (which systemd implies for seccomp without CAP_SYS_ADMIN);
     MemoryDenyWriteExecute= also as Linux's own PR_SET_MDWE (>= 6.3), which later systemd
     versions use instead of the filter: what either refuses is refused;
  6. loads the filters and execs COMMAND (from $PATH in DIR) with the environment it was given.

Not emulated (the chroot shares the host's namespaces): capabilities, Protect*=, Private*=,
RestrictNamespaces= and the other settings systemd implements with namespaces or filters of
their own. --print writes what the filters hold as JSON, without starting anything.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import json
import os
import re
import resource
import socket
import subprocess
import sys

import seccomp

PR_SET_NO_NEW_PRIVS = 38
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
PROT_WRITE, PROT_EXEC, SHM_EXEC = 0x2, 0x4, 0o100000
# systemd's Limit*= names; Python's resource module lacks RLIMIT_LOCKS.
LIMITS = {
    f"Limit{name}": getattr(resource, f"RLIMIT_{name}")
    for name in ("CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NOFILE", "AS", "NPROC", "MEMLOCK",
                 "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME")
}


class UnitError(Exception):
    """The unit asks for something this emulation cannot do, or the root lacks what it names."""


def service_settings(text: str) -> dict[str, list[str]]:
    """[Service] key -> its values in order (keys such as SystemCallFilter= may repeat)."""
    settings: dict[str, list[str]] = {}
    section = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def last(settings: dict[str, list[str]], key: str) -> str | None:
    values = settings.get(key)
    return values[-1] if values else None


def yes(settings: dict[str, list[str]], key: str) -> bool:
    return (last(settings, key) or "no").lower() in ("yes", "true", "on", "1")


def syscall_groups() -> dict[str, list[str]]:
    """@group -> its entries (system calls and nested @groups), as `systemd-analyze` prints them."""
    try:
        out = subprocess.run(
            ["systemd-analyze", "syscall-filter", "--no-pager"], capture_output=True, text=True, check=True, timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise UnitError(f"systemd-analyze syscall-filter: {e} (Debian: apt-get install systemd)") from None
    groups: dict[str, list[str]] = {}
    entries: list[str] | None = None
    for line in out.splitlines():
        if line.startswith("@"):
            entries = groups[line.strip()] = []
        elif not line.strip() or not line.startswith(" "):
            entries = None  # the blank line after a group, or the closing "# Ungrouped ..." notes
        elif entries is not None and not line.strip().startswith("#"):
            entries.append(line.strip())
    if "@default" not in groups:
        raise UnitError("systemd-analyze syscall-filter printed no @default group")
    return groups


def expand(name: str, groups: dict[str, list[str]]) -> list[str]:
    """The system calls a name stands for, nested groups expanded (seccomp_parse_syscall_filter)."""
    if not name.startswith("@"):
        return [name]
    if name not in groups:
        # systemd warns and ignores an unknown group; so do we, loudly.
        print(f"unit_sandbox: warning: unknown system call group {name}, ignored", file=sys.stderr)
        return []
    return [call for entry in groups[name] for call in expand(entry, groups)]


def error_number(value: str, key: str) -> int:
    """EPERM or 1 -> 1; "kill" -> -1 (the process is killed)."""
    if value.lower() == "kill":
        return -1
    number = int(value) if value.isdigit() else getattr(errno, value, None)
    if not isinstance(number, int):
        raise UnitError(f"{key}={value}: not an errno name or number")
    return number


def syscall_filter(settings: dict[str, list[str]], groups: dict[str, list[str]]) -> tuple[bool, dict[str, int]] | None:
    """(allow_list, {system call: errno}) from the SystemCallFilter= lines, or None for no filter.

    As systemd's parser: the first line decides allow or deny list (an allow list starts from
    @default); a later line of the other kind takes its calls out again; an empty line resets.
    In an allow list errno -2 means allowed; in a deny list it means SystemCallErrorNumber=."""
    calls: dict[str, int] | None = None
    allow_list = False
    for value in settings.get("SystemCallFilter", []):
        if not value:
            calls = None
            continue
        invert = value.startswith("~")
        if calls is None:
            allow_list, calls = not invert, {}
            if allow_list:
                calls.update((call, -2) for call in expand("@default", groups))
        for word in value.lstrip("~").split():
            name, _, err = word.partition(":")
            if err and not invert:
                raise UnitError(f"SystemCallFilter={value}: an errno is allowed after ~ names only")
            number = error_number(err, "SystemCallFilter") if err else -2
            for call in expand(name, groups):
                if invert != allow_list or (invert and err):
                    calls[call] = number
                else:
                    calls.pop(call, None)
    return None if calls is None else (allow_list, calls)


def address_families(settings: dict[str, list[str]]) -> tuple[bool, set[int]] | None:
    """(allow_list, families) from the RestrictAddressFamilies= lines, or None for no restriction."""
    families: set[int] | None = None
    allow_list = False
    for value in settings.get("RestrictAddressFamilies", []):
        if not value:
            families = None
            continue
        if value == "none":
            allow_list, families = True, set()
            continue
        invert = value.startswith("~")
        if families is None:
            allow_list, families = not invert, set()
        for name in value.lstrip("~").split():
            family = getattr(socket, name, None)
            if not name.startswith("AF_") or not isinstance(family, int):
                raise UnitError(f"RestrictAddressFamilies=: unknown address family {name}")
            (families.add if invert != allow_list else families.discard)(int(family))
    return None if families is None else (allow_list, families)


def action(number: int) -> int:
    return seccomp.KILL_PROCESS if number == -1 else seccomp.ERRNO(number)


def native(call: str) -> int | None:
    """The call's number on this machine; None for one libseccomp does not know, or another
    architecture's (systemd skips both: -EDOM from seccomp_rule_add_exact)."""
    number = seccomp.resolve_syscall(seccomp.Arch.NATIVE, call)
    return number if number >= 0 else None


def new_filter(default: int) -> seccomp.SyscallFilter:
    f = seccomp.SyscallFilter(default)
    # systemd sets no_new_privs itself (step 5), not libseccomp at load.
    f.set_attr(seccomp.Attr.CTL_NNP, 0)
    return f


def build_filters(settings: dict[str, list[str]]) -> tuple[list[seccomp.SyscallFilter], dict]:
    """The filters to load, in systemd's order, and what they hold (for --print)."""
    arch = last(settings, "SystemCallArchitectures")
    if arch not in (None, "native"):
        raise UnitError(f"SystemCallArchitectures={arch}: only native is emulated")
    filters: list[seccomp.SyscallFilter] = []
    shown: dict = {}

    families = address_families(settings)
    if families is not None:
        allow_list, chosen = families
        f = new_filter(seccomp.ALLOW)
        refuse = seccomp.ERRNO(errno.EAFNOSUPPORT)
        if not allow_list:
            for af in chosen:
                f.add_rule_exactly(refuse, "socket", seccomp.Arg(0, seccomp.EQ, af))
        elif not chosen:
            f.add_rule_exactly(refuse, "socket")
        else:  # as seccomp_restrict_address_families: below, above and the gaps in between
            first, top = min(chosen), max(chosen)
            f.add_rule_exactly(refuse, "socket", seccomp.Arg(0, seccomp.LT, first))
            f.add_rule_exactly(refuse, "socket", seccomp.Arg(0, seccomp.GT, top))
            for af in set(range(first, top)) - chosen:
                f.add_rule_exactly(refuse, "socket", seccomp.Arg(0, seccomp.EQ, af))
        filters.append(f)
        shown["address_families"] = {"allow_list": allow_list, "families": sorted(chosen)}

    if yes(settings, "MemoryDenyWriteExecute"):  # as seccomp_memory_deny_write_execute on x86-64
        f = new_filter(seccomp.ALLOW)
        refuse = seccomp.ERRNO(errno.EPERM)
        f.add_rule_exactly(refuse, "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_WRITE | PROT_EXEC, PROT_WRITE | PROT_EXEC))
        for call in ("mprotect", "pkey_mprotect"):
            f.add_rule_exactly(refuse, call, seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
        f.add_rule_exactly(refuse, "shmat", seccomp.Arg(2, seccomp.MASKED_EQ, SHM_EXEC, SHM_EXEC))
        filters.append(f)
        shown["memory_deny_write_execute"] = True

    parsed = syscall_filter(settings, syscall_groups())
    if parsed is not None:
        allow_list, calls = parsed
        err = last(settings, "SystemCallErrorNumber")
        negative = error_number(err, "SystemCallErrorNumber") if err else -1
        f = new_filter(action(negative) if allow_list else seccomp.ALLOW)
        installed = {}
        for call, number in calls.items():
            nr = native(call)
            if nr is None:
                continue
            if number == -2:
                rule = seccomp.ALLOW if allow_list else action(negative)
            else:
                rule = action(number)
            f.add_rule_exactly(rule, nr)
            installed[call] = number
        filters.append(f)
        shown["system_calls"] = {
            "allow_list": allow_list, "default_errno": negative, "calls": sorted(installed),
            "errno": {call: n for call, n in sorted(installed.items()) if n != -2},
        }
    return filters, shown


def read_table(path: str) -> list[list[str]]:
    try:
        with open(path) as f:
            return [line.rstrip("\n").split(":") for line in f if line.strip() and not line.startswith("#")]
    except OSError as e:
        raise UnitError(f"{path}: {e.strerror}") from None


def identity(settings: dict[str, list[str]]) -> tuple[int, int, list[int], dict[str, str]] | None:
    """(uid, gid, supplementary groups, environment) for User=/Group=, read in the (chrooted) /etc."""
    user, group = last(settings, "User"), last(settings, "Group")
    if not user:
        if group:
            raise UnitError("Group= without User= is not emulated")
        return None
    users = {row[0]: row for row in read_table("/etc/passwd")}
    groups = read_table("/etc/group")
    if user not in users:
        raise UnitError(f"User={user}: no such user in the root's /etc/passwd")
    row = users[user]
    uid, gid = int(row[2]), int(row[3])
    if group:
        found = [int(g[2]) for g in groups if g[0] == group]
        if not found:
            raise UnitError(f"Group={group}: no such group in the root's /etc/group")
        gid = found[0]
    supplementary = [gid] + [int(g[2]) for g in groups if user in g[3].split(",") and int(g[2]) != gid]
    env = {"USER": user, "LOGNAME": user, "HOME": row[5], "SHELL": row[6]}
    return uid, gid, supplementary, env


def limit(key: str, value: str) -> tuple[int, int]:
    """systemd's "N", "soft:hard" and "infinity" (with K, M, G, T byte suffixes) -> (soft, hard)."""
    def one(text: str) -> int:
        if text == "infinity":
            return resource.RLIM_INFINITY
        scale = 1
        if text[-1:] in "KMGT" and text[:-1].isdigit():
            scale, text = 1024 ** ("KMGT".index(text[-1]) + 1), text[:-1]
        if not text.isdigit():
            raise UnitError(f"{key}={value}: not a number, soft:hard or infinity")
        return int(text) * scale

    soft, _, hard = value.partition(":")
    return one(soft), one(hard or soft)


LIBC = ctypes.CDLL(None, use_errno=True)  # loaded while the host's libraries are in reach


def prctl(option: int, arg: int, name: str) -> None:
    if LIBC.prctl(option, arg, 0, 0, 0) != 0:
        raise UnitError(f"{name}: {os.strerror(ctypes.get_errno())}")


def start(settings: dict[str, list[str]], root: str, argv: list[str]) -> None:
    """Steps 1-6 of the module's docstring; does not return."""
    filters, _ = build_filters(settings)
    limits = [(key, LIMITS[key], limit(key, values[-1])) for key, values in settings.items() if key in LIMITS and values[-1]]
    unknown = [key for key in settings if key.startswith("Limit") and key not in LIMITS]
    if unknown:
        raise UnitError(f"{', '.join(unknown)}: not a resource limit this emulation knows")
    umask = last(settings, "UMask")
    if umask and not re.fullmatch("[0-7]{1,4}", umask):
        raise UnitError(f"UMask={umask}: not an octal mode")
    env = dict(os.environ)

    if root != "/":  # (no CAP_SYS_CHROOT needed to stay where we are)
        os.chroot(root)
        os.chdir("/")
    for key, which, wanted in limits:
        try:
            resource.setrlimit(which, wanted)
        except ValueError:  # above our own hard limit (no CAP_SYS_RESOURCE, as in a container)
            # systemd's setrlimit_closest() settles for the nearest it may set; so do we.
            top = resource.getrlimit(which)[1]
            closest = tuple(top if v == resource.RLIM_INFINITY or v > top else v for v in wanted)
            resource.setrlimit(which, closest)
            print(f"unit_sandbox: note: {key}= is {':'.join(map(str, closest))} here, the most this "
                  "machine lets its root set", file=sys.stderr)
    if umask:
        os.umask(int(umask, 8))
    ident = identity(settings)
    if ident is not None:
        uid, gid, supplementary, user_env = ident
        os.setgroups(supplementary)
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        env.update(user_env)
    workdir = last(settings, "WorkingDirectory")
    if workdir:
        os.chdir(workdir.lstrip("-"))
    if yes(settings, "NoNewPrivileges") or (filters and ident is not None):
        prctl(PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS")
    if yes(settings, "MemoryDenyWriteExecute"):
        prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, "PR_SET_MDWE (Linux >= 6.3)")
    for f in filters:
        f.load()
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as e:
        raise UnitError(f"{argv[0]}: {e.strerror}") from None


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="unit_sandbox.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default="/", help="the directory to chroot into (default /)")
    parser.add_argument("--print", action="store_true", help="write the filters as JSON and start nothing")
    parser.add_argument("unit", help="the systemd unit whose [Service] settings to apply")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- and the command to exec")
    opts = parser.parse_args(args)
    command = opts.command[1:] if opts.command[:1] == ["--"] else opts.command
    try:
        with open(opts.unit) as f:
            settings = service_settings(f.read())
        if opts.print:
            json.dump(build_filters(settings)[1], sys.stdout, indent=1)
            print()
            return 0
        if not command:
            parser.error("no command to start (after --)")
        start(settings, opts.root, command)
    except (UnitError, OSError) as e:  # OSError: chroot, setresuid, chdir...
        print(f"unit_sandbox: error: {e}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
