"""How the outside steers a running EyeNet: signals in, systemd's notifications out.

SIGTERM (how systemd stops a service) and SIGINT (Ctrl-C) ask the app to stop in order:
it stops accepting, says goodbye to its clients, lets the polls in flight finish (or
cancels them), flushes the store and stops its child processes, and the process exits 0
with one INFO line saying what was done. Before the app is up there is nothing to do in
order: the start is cancelled. A second SIGTERM or SIGINT (not the first one repeated
within REPEAT_WINDOW), or STOP_DEADLINE seconds, cancels whatever is left; one after the stop
changes nothing (run_process). SIGHUP asks
the app to reload its configuration file.

systemd hears READY=1 once the app serves, a STATUS= line, WATCHDOG=1 while the app's
health is not down, RELOADING=1 around a reload and STOPPING=1 (eyenet.daemon.notify). The
log hears the same summary every minute, with the polls made meanwhile.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

import trio

from eyenet.daemon import notify
from eyenet.daemon.summary import Counts, period_line, status_line
from eyenet.daemon.systemd import Notifier, monotonic_usec
from eyenet.health import Health, Status

log = logging.getLogger("eyenet")

# An orderly stop takes well under this; it bounds one that hangs (a disk that does not answer).
STOP_DEADLINE = 15.0
# The same stop signal again this soon is the same request delivered twice: the single
# executable's launcher passes on the Ctrl-C that the terminal also sent to EyeNet itself.
REPEAT_WINDOW = 0.5
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Seconds between two STATUS= lines when the watchdog does not ask for more often.
STATUS_EVERY = 10.0
# Seconds between two summary lines in the log.
SUMMARY_EVERY = 60.0

Main = Callable[["Control"], Awaitable[None]]


class Control:
    """Made by the command line; the app it runs calls ready(), heartbeat(), reloads() and note()."""

    def __init__(
        self, notifier: Notifier | None = None, *, config_file: str | None = None, summary_every: float | None = SUMMARY_EVERY,
    ) -> None:
        """config_file: what SIGHUP reloads (None: there is none, as in the demo); summary_every:
        seconds between two summary lines in the log (None: no summary lines)."""
        self.notifier = notifier if notifier is not None else Notifier(None)
        self.config_file = config_file
        self.summary_every = summary_every
        self.stop_requested = trio.Event()
        self.stopped_by: str | None = None  # the signal's name
        self.forced = False  # the stop did not complete in order
        self._notes: list[str] = []
        self._orderly = False  # the app stops in order from ready() on
        self._scope = trio.CancelScope()  # around the app
        self._stop_asked_at = 0.0
        self._counts: Callable[[], Counts] = lambda: Counts(0, 0, 0, 0, 0)
        self._reload_send, self._reload_receive = trio.open_memory_channel[None](1)
        self._reloading = False  # the app takes reloads

    async def run(self, main: Main) -> int:
        """Run main(self) watching the signals; the exit status once it has returned."""
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch, signals)
                with self._scope:
                    await main(self)
                nursery.cancel_scope.cancel()
        self.notifier.close()
        if self.stopped_by is None:
            return 0
        if self._scope.cancelled_caught and self._orderly and not self.forced:
            log.error("did not stop within %g s: the rest was cancelled", STOP_DEADLINE)
            self.forced = True
        took = trio.current_time() - self._stop_asked_at
        if self.forced:
            log.warning("stopped on %s in %.2f s, not in order", self.stopped_by, took)
            return 1
        if not self._orderly:
            log.info("stopped on %s during start-up in %.2f s", self.stopped_by, took)
        else:
            log.info("stopped on %s in %.2f s: %s", self.stopped_by, took, ", ".join(self._notes) or "nothing was running")
        return 0

    def run_process(self, main: Main) -> int:
        """run(main) as this process's trio.run, for the command line (tests call run()); a stop
        signal that comes once run() has stopped watching cannot end the process on its way out.
        The single executable's launcher passes on the SIGTERM or SIGINT that the service manager
        (to the whole service) or the terminal (to the process group) also sent EyeNet itself;
        on a busy machine its copy can come after the stop, and by default it would end the
        process (status 143) instead of the exit with 0."""
        for signum in STOP_SIGNALS:  # trio puts these back when run() stops watching
            signal.signal(signum, self._unwatched)
        code = trio.run(self.run, main)
        if self.stopped_by is not None:
            # Only SIG_IGN outlasts the interpreter's finalisation, which puts Python's handlers
            # back to the default.
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_IGN)
        return code

    def _unwatched(self, signum: int, frame: object) -> None:
        if self.stopped_by is None:  # no stop asked for yet: the signal does what it does by default
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    async def _watch(self, signals: AsyncIterator[int]) -> None:
        async for signum in signals:
            name = signal.Signals(signum).name
            if signum == signal.SIGHUP:
                self._hangup()
            elif self.stopped_by is None:
                self.stopped_by = name
                self._stop_asked_at = trio.current_time()
                self.notifier.send(notify.stopping(f"stopping on {name}"))
                self.stop_requested.set()
                if self._orderly:
                    self._scope.deadline = self._stop_asked_at + STOP_DEADLINE
                else:
                    self._scope.cancel()  # still starting: nothing to stop in order
            elif name == self.stopped_by and trio.current_time() - self._stop_asked_at < REPEAT_WINDOW:
                continue
            else:
                log.warning("%s again: stopping now, without waiting for the rest", name)
                self.forced = True
                self._scope.cancel()

    def _hangup(self) -> None:
        if self.stopped_by is not None:
            return
        if self.config_file is None:
            log.warning("SIGHUP: there is no configuration file to reload")
        elif not self._reloading:
            log.warning("SIGHUP during start-up is ignored: send it again once EyeNet is up")
        else:
            try:
                self._reload_send.send_nowait(None)
            except trio.WouldBlock:
                pass  # one is waiting already, and will read the file as it is then

    # -- what the app calls ---------------------------------------------------------------------

    def ready(self, counts: Callable[[], Counts]) -> None:
        """The app serves: READY=1 to systemd, and from now on a stop is made in order.
        counts: what the STATUS= line and the log's summary lines say."""
        self._counts = counts
        self._orderly = True
        self.notifier.send(notify.ready(self._status()))

    def _status(self) -> str:
        return status_line(self._counts())

    def note(self, done: str) -> None:
        """A part of the orderly stop, for the line logged at its end."""
        self._notes.append(done)

    async def heartbeat(self, health: Callable[[], Health]) -> None:
        """STATUS= every STATUS_EVERY seconds, and with a watchdog WATCHDOG=1 at half its
        period, only while health() is not down; until a stop is asked for (the services
        then stop, and their health with them). Run it in the app's nursery."""
        period = self.notifier.watchdog
        if not self.notifier.enabled:
            return
        every = min(period, STATUS_EVERY) if period is not None else STATUS_EVERY
        unwell = False
        while not self.stop_requested.is_set():
            whole = health()
            alive = whole.status is not Status.DOWN
            if period is not None and not alive and not unwell:
                log.error(
                    "health is down (%s): the watchdog is no longer told EyeNet is alive, and systemd restarts it",
                    "; ".join(whole.reasons),
                )
            elif period is not None and alive and unwell:
                log.warning("health is no longer down: the watchdog is told EyeNet is alive again")
            unwell = not alive
            self.notifier.send(notify.heartbeat(self._status(), alive and period is not None))
            with trio.move_on_after(every):
                await self.stop_requested.wait()

    async def summaries(self) -> None:
        """The summary line at INFO every summary_every seconds, with the polls made since the
        last one; until a stop is asked for. Run it in the app's nursery."""
        if self.summary_every is None:
            return
        before = self._counts()
        while True:
            with trio.move_on_after(self.summary_every):
                await self.stop_requested.wait()
            if self.stop_requested.is_set():
                return
            now = self._counts()
            log.info("%s", period_line(before, now, self.summary_every))
            before = now

    async def reloads(self, reload: Callable[[], Awaitable[None]]) -> None:
        """Call reload() for each SIGHUP, one at a time. Run it in the app's nursery, so that a
        reload never outlives the services it changes."""
        if self.config_file is None:
            return
        self._reloading = True
        async for _ in self._reload_receive:
            self.notifier.send(notify.reloading(monotonic_usec()))
            try:
                await reload()
            except Exception:  # the store failing, or a bug: EyeNet goes on as it was
                log.exception("reloading %s failed", self.config_file)
            finally:
                self.notifier.send(notify.ready(self._status()))
