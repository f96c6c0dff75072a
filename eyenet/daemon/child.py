"""Child processes that never outlive EyeNet, even when it is killed with SIGKILL.

Linux sends a child a signal of its choice when its parent dies (prctl PR_SET_PDEATHSIG),
set here between fork and exec. The kernel ties that to the parent *thread* that forked:
Trio's open_process forks from a worker thread, which exits after some idle seconds and
would take the child with it, so the child is started from the calling (event loop) thread,
and waited for with a pidfd. Each child also gets a process group of its own, so that a
Ctrl-C at the terminal reaches EyeNet alone, which then stops its children in order.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

import trio

PR_SET_PDEATHSIG = 1

_prctl: Callable[..., int] | None
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: between fork and exec, only called
except (OSError, AttributeError):  # not Linux
    _prctl = None


def _die_with(parent: int) -> Callable[[], None]:
    def preexec() -> None:
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the line above: no signal will come
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


class Child:
    """A started child: pid, stdin and stdout (the pipes asked for, else None), returncode
    (None while it runs), terminate(), kill(), and `await wait()`."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.pid = popen.pid
        self.args = popen.args
        self.stdin, self.stdout = popen.stdin, popen.stdout  # the pipes asked for (stdin=PIPE ...), else None
        try:
            self._pidfd: int | None = os.pidfd_open(popen.pid)
        except (OSError, AttributeError):  # an old kernel: wait() polls
            self._pidfd = None

    def __repr__(self) -> str:
        return f"<Child {self.pid}: {'running' if self.returncode is None else f'exited {self.returncode}'}>"

    @property
    def returncode(self) -> int | None:
        code = self._popen.poll()
        if code is not None:
            self._close_pidfd()
        return code

    def poll(self) -> int | None:
        return self.returncode

    def terminate(self) -> None:
        if self.returncode is None:
            self._popen.terminate()

    def kill(self) -> None:
        if self.returncode is None:
            self._popen.kill()

    async def wait(self) -> int:
        while (code := self.returncode) is None:
            if self._pidfd is not None:
                try:
                    await trio.lowlevel.wait_readable(self._pidfd)  # readable once it has exited
                except trio.ClosedResourceError:
                    pass
            else:
                await trio.sleep(0.05)
        return code

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            fd, self._pidfd = self._pidfd, None
            trio.lowlevel.notify_closing(fd)
            os.close(fd)


def spawn(command: Sequence[str | os.PathLike[str]], **options: Any) -> Child:
    """Start `command` (options as subprocess.Popen's) in a process group of its own; it
    gets SIGKILL when EyeNet dies, however it dies. Call it from the event loop's thread."""
    popen = subprocess.Popen(command, preexec_fn=_die_with(os.getpid()), process_group=0, **options)
    return Child(popen)


async def stop(child: Child, grace: float) -> int:
    """SIGTERM, then SIGKILL after `grace` seconds; the exit status."""
    child.terminate()
    with trio.move_on_after(grace):
        return await child.wait()
    child.kill()
    return await child.wait()
