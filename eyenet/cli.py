"""The `eyenet` command: run, demo, check-config, walk, get, user, backup."""

import argparse
import gc
import getpass
import json
import logging
import os
import sys
from pathlib import Path
from typing import TextIO

import trio

from eyenet import __version__
from eyenet.auth import initial
from eyenet.auth.model import ROLES, AuthError
from eyenet.auth.tokens import KeyFileError
from eyenet.collect.profiles import ProfileError, load_profiles
from eyenet.config import DEFAULT_PATHS, ConfigError, default_config, load_config
from eyenet.daemon import logs
from eyenet.daemon.control import SUMMARY_EVERY, Control
from eyenet.daemon.systemd import Notifier
from eyenet.demo.lab import LabError
from eyenet.snmp.client import SnmpClient, Target
from eyenet.snmp.display import format_varbind, varbind_json
from eyenet.snmp.errors import SnmpError
from eyenet.snmp.usm import AUTH_PROTOCOLS, LEVELS, PRIV_PROTOCOLS, UsmUser, implied_level, protocol_name
from eyenet.snmp.values import parse_oid
from eyenet.store.db import Store
from eyenet.store.errors import StoreError
from eyenet.web.admission import NoRoom


def parse_target(text: str) -> tuple[str, int]:
    """'host', 'host:port', '[v6]:port' or a bare IPv6 address -> (host, port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else "161"
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, "161"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SnmpError(f"bad target {text!r}: use host, host:port or [ipv6]:port")
    return host, int(port)


def _snmp_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", help="host, host:port or [ipv6]:port")
    p.add_argument("-v", dest="version", choices=["1", "2c", "3"], default="2c", help="SNMP version (default 2c)")
    p.add_argument("-c", dest="community", default="public", help="community (default public)")
    v3 = p.add_argument_group("SNMPv3 (net-snmp's options)")
    v3.add_argument("-u", dest="user", help="security name")
    v3.add_argument(
        "-l", dest="level", choices=LEVELS,
        help="security level (default: authPriv with -X, authNoPriv with -A, else noAuthNoPriv)",
    )
    v3.add_argument("-a", dest="auth_protocol", type=protocol_name, default="SHA", help=f"{'|'.join(AUTH_PROTOCOLS)} (default SHA)")
    v3.add_argument("-A", dest="auth_password", default="", help="authentication pass phrase (or EYENET_SNMP_AUTH_PASSWORD)")
    v3.add_argument(
        "-x", dest="priv_protocol", type=protocol_name, default="AES",
        help=f"{'|'.join(PRIV_PROTOCOLS)} (default AES; AES192C and AES256C spelt as net-snmp does work too)",
    )
    v3.add_argument("-X", dest="priv_password", default="", help="privacy pass phrase (or EYENET_SNMP_PRIV_PASSWORD)")
    v3.add_argument("-n", dest="context", default="", help="context name")
    v3.add_argument("-E", dest="context_engine_id", help="context engine id in hex (default: the agent's engine id)")
    p.add_argument("--timeout", type=float, default=1.0, help="seconds per attempt (default 1)")
    p.add_argument("--retries", type=int, default=2, help="attempts after the first (default 2)")
    p.add_argument("--max-repetitions", type=int, default=25, help="GETBULK repetitions to start with (default 25)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")


DEFAULTS = ", then ".join(DEFAULT_PATHS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eyenet", description="EyeNet network monitor")
    parser.add_argument("--version", action="version", version=f"eyenet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    init = argparse.ArgumentParser(add_help=False)
    init.add_argument(
        "--init", action="store_true",
        help="begin a new database if the file is empty or damaged (it is moved aside, never deleted)",
    )
    service = argparse.ArgumentParser(add_help=False)
    service.add_argument("--log-level", choices=list(logs.LEVELS), default="info", help="the least level logged (default info)")
    service.add_argument(
        "--log-format", choices=logs.FORMATS, default="text",
        help="text (default), or json: one JSON object a line. Under systemd either carries the journal's priority prefix",
    )
    service.add_argument(
        "--summary-interval", type=_seconds, default=SUMMARY_EVERY, metavar="SECONDS",
        help=f"seconds between two summary lines in the log (default {SUMMARY_EVERY:g}; 0: none)",
    )
    p = sub.add_parser("run", parents=[init, service], help="poll the devices in a configuration file")
    p.add_argument(
        "-c", "--config", help=f"configuration file (TOML; default: {DEFAULTS}); SIGHUP reloads its devices, rules and profiles",
    )
    p = sub.add_parser("demo", parents=[init, service], help="start a simulated lab of 8 devices on loopback and poll it")
    p.add_argument("--data-dir", default=".", help="where the lab and the database go (default: here)")
    p.add_argument("--port", type=int, default=5000, help="port of the REST API, /ws and Socket.IO (default 5000)")
    p.add_argument(
        "--host", default="localhost",
        help="address to listen on (default localhost: 127.0.0.1 and ::1, this machine only; \"\" for every address)",
    )
    p.add_argument(
        "--cors-origin", action="append", default=[], metavar="ORIGIN",
        help="a web origin (scheme://host[:port]) whose pages may poll Socket.IO; repeat for more "
        "(default: the demo's own, http://localhost:PORT and its loopback addresses)",
    )
    p = sub.add_parser("check-config", help="report every error in a configuration file")
    p.add_argument("file", nargs="?", help=f"default: {DEFAULTS}")
    p = sub.add_parser("walk", help="walk a subtree of one agent")
    _snmp_options(p)
    p.add_argument("oid", help="numeric OID, e.g. 1.3.6.1.2.1.2")
    p = sub.add_parser("get", help="read OIDs from one agent")
    _snmp_options(p)
    p.add_argument("oids", nargs="+", metavar="oid")
    p = sub.add_parser("user", help="manage the users of the API and dashboards")
    users = p.add_subparsers(dest="user_command", required=True)
    database = argparse.ArgumentParser(add_help=False)
    where = database.add_mutually_exclusive_group()
    where.add_argument("-c", "--config", help=f"configuration file: the database is its [store] path (default: {DEFAULTS})")
    where.add_argument("--db", help="database file")
    password = argparse.ArgumentParser(add_help=False)
    password.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    p = users.add_parser("add", parents=[database, password], help="add a user")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument(
        "--scope", action="extend", nargs="+", default=[], metavar="TAG",
        help="device tags the user may see (default: every device)",
    )
    users.add_parser("list", parents=[database], help="list the users")
    p = users.add_parser("passwd", parents=[database, password], help="set a user's password")
    p.add_argument("name")
    p = users.add_parser("del", parents=[database], help="delete a user")
    p.add_argument("name")
    p = sub.add_parser(
        "backup", parents=[database], help="copy the database to a new file, while EyeNet runs (README: Backup and restore)",
    )
    p.add_argument("file", help="the backup to write (never an existing file)")
    return parser


def _seconds(text: str) -> float | None:
    """A number of seconds >= 0 for an option; 0 is None: never."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value or None


def _database(args) -> str:
    """--db, or the [store] path of the configuration file (-c, or the one found by default)."""
    if args.db is not None:
        return args.db
    return load_config(args.config if args.config is not None else default_config("-c FILE, or the database with --db PATH")).store.path


def _backup_command(args) -> int:
    from eyenet.store.db import backup

    db = _database(args)
    size = backup(db, args.file)
    print(f"backed up {db} to {args.file} ({size / 2**20:.1f} MiB, checked)")
    return 0


async def _snmp_command(args) -> int:
    host, port = parse_target(args.target)
    oids = [parse_oid(o) for o in ([args.oid] if args.command == "walk" else args.oids)]
    target = Target(
        host=host, port=port, version=args.version, community=args.community, timeout=args.timeout,
        retries=args.retries, max_repetitions=args.max_repetitions, **_v3_target(args),
    )
    show = (lambda vb: json.dumps(varbind_json(vb))) if args.json else format_varbind
    async with SnmpClient.open() as client:
        if args.command == "walk":
            varbinds = await client.walk(target, oids[0])
        else:
            varbinds = await client.get(target, oids)
    sys.stdout.write("".join(show(vb) + "\n" for vb in varbinds))
    return 0


# Pass phrases from the environment keep them out of `ps` and the shell's history.
AUTH_PASSWORD_ENV = "EYENET_SNMP_AUTH_PASSWORD"
PRIV_PASSWORD_ENV = "EYENET_SNMP_PRIV_PASSWORD"


def _v3_target(args) -> dict:
    """Target's SNMPv3 keywords from -u -l -a -A -x -X -n -E (none below version 3)."""
    if args.version != "3":
        if args.user is not None or args.level is not None:
            raise SnmpError("-u and -l are for SNMPv3: add -v 3")
        return {}
    if args.user is None:
        raise SnmpError("SNMPv3 needs a user: -u NAME")
    auth_password = args.auth_password or os.environ.get(AUTH_PASSWORD_ENV, "")
    priv_password = args.priv_password or os.environ.get(PRIV_PASSWORD_ENV, "")
    level = args.level or implied_level(auth_password, priv_password)
    try:
        engine_id = None if args.context_engine_id is None else bytes.fromhex(args.context_engine_id.removeprefix("0x"))
    except ValueError:
        raise SnmpError(f"-E {args.context_engine_id!r} is not hexadecimal") from None
    user = UsmUser(args.user, level, args.auth_protocol, auth_password, args.priv_protocol, priv_password)
    return {"usm": user, "context": args.context, "context_engine_id": engine_id}


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise AuthError("no terminal to ask for the password on: give it on stdin with --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise AuthError("the two passwords differ")
    return first


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n" for row in rows)


async def _user_command(args) -> int:
    from eyenet.auth import audit
    from eyenet.auth.users import new_user, set_password

    db = _database(args)
    # Only `add` may start a database: on the others, a missing file is a wrong path.
    if args.user_command != "add" and not Path(db).is_file():
        raise StoreError(f"{db}: no such database file")
    # No pruning: this command may not know the retention the service is configured with.
    async with Store.open(db, prune_every=None) as store:
        if args.user_command == "list":
            rows = [("ID", "USERNAME", "ROLE", "SCOPE")] + [
                (u.id, u.username, u.role, ",".join(u.scope) or "(all devices)") for u in await store.users()
            ]
            sys.stdout.write(_table(rows))
            return 0
        existing = await store.user_by_name(args.name)
        if args.user_command == "add":
            if existing is not None:  # before asking for a password that would be thrown away
                raise StoreError(f"a user named {existing.username!r} already exists")
            user = await new_user(args.name, args.role, _read_password(args), args.scope)
            await store.add_user(user)
            await audit.record(store, "user-added", username=user.username, user_id=user.id, actor="cli",
                               detail=f"role={user.role} scope={','.join(user.scope)}")
            print(f"added {user.username} ({user.role}), id {user.id}")
            return 0
        if existing is None:
            raise StoreError(f"no user named {args.name!r} in {db}")
        if args.user_command == "passwd":
            await set_password(store, existing, _read_password(args))
            await audit.record(store, "user-changed", username=existing.username, user_id=existing.id, actor="cli", detail="password")
            print(f"changed the password of {existing.username}; its tokens are revoked")
        else:
            await store.delete_user(existing.id)
            await audit.record(store, "user-deleted", username=existing.username, user_id=existing.id, actor="cli")
            print(f"deleted {existing.username}")
        initial.forget(Path(db).parent, existing.username)
        return 0


# Errors an operator fixes (bad input, config, files, ports): one line, no traceback.
USAGE_ERRORS = (ConfigError, ProfileError, AuthError)
OPERATOR_ERRORS = (SnmpError, StoreError, LabError, KeyFileError, NoRoom, OSError, *USAGE_ERRORS)


def _operator_error(exc: BaseException) -> BaseException | None:
    """The one operator error behind `exc` (Trio wraps what a nursery's task raised in
    an exception group), or None."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc if isinstance(exc, OPERATOR_ERRORS) else None


def _interrupted(exc: BaseException) -> bool:
    """A Ctrl-C before the signals were ours (or in a command that does not take them): a
    KeyboardInterrupt, maybe in the exception groups of the nurseries it went through."""
    if isinstance(exc, BaseExceptionGroup):
        match, rest = exc.split(KeyboardInterrupt)
        return match is not None and rest is None
    return isinstance(exc, KeyboardInterrupt)


def _configure_logging(level: str, fmt: str) -> None:
    """Under systemd (stderr is $JOURNAL_STREAM) each line starts with its syslog priority."""
    try:
        st = os.fstat(sys.stderr.fileno())
        journal = logs.on_journal(os.environ.get("JOURNAL_STREAM"), st.st_dev, st.st_ino)
    except (OSError, ValueError, AttributeError):  # no stderr, or not a file
        journal = False
    logs.configure(level, fmt, journal, sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("run", "demo"):
        _configure_logging(args.log_level, args.log_format)
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return _main(args)
    except BaseException as caught:
        if _interrupted(caught):
            return 130
        exc = _operator_error(caught)
        if exc is None:
            raise
        print(f"eyenet: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, USAGE_ERRORS) else 1


def _main(args) -> int:
    if args.command in ("walk", "get"):
        return trio.run(_snmp_command, args)
    if args.command == "user":
        return trio.run(_user_command, args)
    if args.command == "backup":
        return _backup_command(args)
    if args.command == "demo":
        from eyenet.demo.run import demo

        control = Control(Notifier.from_environ(), summary_every=args.summary_interval)
        return _ending(control.run_process(lambda control: demo(
            Path(args.data_dir), args.port, args.host, args.init, control, _terminal(), tuple(args.cors_origin),
        )))
    given = args.config if args.command == "run" else args.file
    config = load_config(given if given is not None else default_config())
    if args.command == "check-config":
        from eyenet.auth.tokens import check_settings

        if problems := check_settings(config.token_settings):
            raise ConfigError([f"{config.path}: {p}" for p in problems])
        profiles = load_profiles(config.profiles_dir)
        print(f"{config.path}: OK, {len(config.devices)} device(s), {len(profiles.profiles)} profile(s)")
        return 0
    from eyenet import app

    control = Control(Notifier.from_environ(), config_file=config.path, summary_every=args.summary_interval)
    return _ending(control.run_process(lambda control: app.run(config, init=args.init, control=control, terminal=_terminal())))


def _ending(code: int) -> int:
    """EyeNet has stopped and said so: the process only has to exit. The interpreter would first
    collect its whole heap (a second with 1,000 devices, measured in bench/shutdown.py): frozen,
    the heap is left for the kernel to free at once."""
    gc.freeze()
    return code


def _terminal() -> TextIO | None:
    """Where a generated first password is shown besides its file: stdout when it is a
    terminal, someone watching the command start (systemd's stdout is the journal or null)."""
    return sys.stdout if sys.stdout.isatty() else None


if __name__ == "__main__":
    sys.exit(main())
