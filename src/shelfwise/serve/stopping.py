"""Stopping ``shelfwise serve --workers N`` at any point of its start: Ctrl-C (SIGINT) or SIGTERM.

Ctrl-C in a terminal signals the whole process group: the supervising parent, the load check's
process and every worker. A spawned process that got it while still importing or unpickling printed
a KeyboardInterrupt traceback; one loading its shelf kept loading (uvicorn only notes a signal
during the app's load), so the stop waited for the load. Here:

* every process the parent spawns starts with SIGINT blocked (:func:`sigint_blocked`): a child
  never raises KeyboardInterrupt; the parent, which does get Ctrl-C, ends it with SIGTERM;
* a worker takes SIGTERM with the default action while it loads its shelf (:func:`default_sigterm`):
  it ends at once, as a stop signal during its imports ends it; once loaded it unblocks SIGINT and
  stops gracefully on either signal (uvicorn's handlers);
* the parent, before its supervisor takes over the signals, turns SIGTERM into a silent
  ``SystemExit`` (:func:`exit_on_sigterm`), so that its ``finally`` blocks end the load check's
  process and remove the run folder.

Platforms: Windows has no signal masks (``pthread_sigmask``, ``sigpending``): there the blocking
helpers do nothing (as before them). macOS has masks but no ``sigtimedwait``: a pending SIGINT is
taken by ignoring it for an instant (POSIX: that discards a pending signal).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

SIGINT_ONLY = frozenset({signal.SIGINT})


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()  # signal handlers: the main thread's only


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread for the block (a Ctrl-C waits, pending, until it ends: none is
    lost); processes started meanwhile inherit the block through ``exec`` and never see it.

    The resource tracker is started first: launching it unblocks SIGINT and SIGTERM in the caller
    (:func:`multiprocessing.resource_tracker.ensure_running`), which would undo the block for the
    first process spawned inside it. Where there are no signal masks (Windows), nothing changes."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    before = signal.pthread_sigmask(signal.SIG_BLOCK, SIGINT_ONLY)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def sigint_pending() -> bool:
    """Whether a SIGINT waits, blocked, for this process (never, where there are no signal masks)."""
    return hasattr(signal, "sigpending") and signal.SIGINT in signal.sigpending()


def take_pending_sigint() -> bool:
    """Consume a pending (blocked) SIGINT; whether there was one. Without ``sigtimedwait`` (macOS),
    SIGINT is ignored for an instant, which discards a pending one (main thread only)."""
    if not sigint_pending():
        return False
    if hasattr(signal, "sigtimedwait"):
        return signal.sigtimedwait(SIGINT_ONLY, 0) is not None
    if not _main_thread():
        return False
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    if previous is not None:  # None: a handler not set from Python, which cannot be put back
        signal.signal(signal.SIGINT, previous)
    return True


def unblock_sigint() -> None:
    """SIGINT delivered again in this thread (a pending one now, to the installed handler); nothing
    where there are no signal masks."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGINT_ONLY)


@contextlib.contextmanager
def default_sigterm() -> Iterator[None]:
    """SIGTERM with the default action (the process ends at once, nothing printed) for the block,
    then the handler before it again; in a thread other than the main one, nothing changes.

    When the handler it replaces has already caught a stop (uvicorn's server, whose handlers are
    installed before the app is loaded: its ``should_exit`` is set), the process ends now: that
    server would only have stopped once the block had finished."""
    if not _main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if getattr(getattr(before, "__self__", None), "should_exit", False) is True:
        signal.raise_signal(signal.SIGTERM)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


# the signals uvicorn's supervisor takes over (uvicorn.supervisors.multiprocess.SIGNALS), where the platform has them
SUPERVISED = tuple(
    getattr(signal, f"SIG{x}")
    for x in ["INT", "TERM", "BREAK", "HUP", "QUIT", "TTIN", "TTOU", "USR1", "USR2", "WINCH"]
    if hasattr(signal, f"SIG{x}")
)


@contextlib.contextmanager
def signals_restored() -> Iterator[None]:
    """The handlers of :data:`SUPERVISED` as they were once the block ends (in the main thread; in
    another, nothing changes): :func:`exit_on_sigterm` and uvicorn's supervisor set them and never put
    them back, so a process that goes on after ``serve --workers`` (a test, a program calling it) had
    Ctrl-C queued for a supervisor long gone."""
    if not _main_thread():
        yield
        return
    saved = [(s, signal.getsignal(s)) for s in SUPERVISED]
    try:
        yield
    finally:
        for s, handler in saved:
            if handler is not None:  # None: a handler not set from Python, which cannot be put back
                signal.signal(s, handler)


def exit_by_signal(signum: int, _frame: FrameType | None) -> None:
    """A signal handler: ``SystemExit(128 + signum)``, the exit status of a process ended by the signal."""
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def sigterm_exits() -> Iterator[None]:
    """:func:`exit_on_sigterm` for the block, then the SIGTERM handler before it again (in the main
    thread; in another, nothing changes)."""
    if not _main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, exit_by_signal)
    try:
        yield
    finally:
        if before is not None:  # None: a handler not set from Python, which cannot be put back
            signal.signal(signal.SIGTERM, before)


def exit_on_sigterm() -> None:
    """From now on SIGTERM raises ``SystemExit(143)`` in the main thread (cleanup runs, nothing is
    printed), until another handler replaces it. Not in another thread."""
    if _main_thread():
        signal.signal(signal.SIGTERM, exit_by_signal)
