"""Release policy: losing, detaching and killing tracees (dt_proc's release rules)."""

from __future__ import annotations

import contextlib
import errno as errno_module
import os
import signal

from .. import _procfs
from .. import _ptrace as pt
from .._events import (
    Lifecycle,
    ProcessEvent,
    Tracee,
)
from ..errors import PtraceError
from ._state import (
    ControlState,
    Release,
    _Process,
)


class ReleaseMixin(ControlState):
    # ----------------------------------------------------------- letting go

    def _request_failed(self, tracee: Tracee, error: PtraceError) -> None:
        """A request on a tracee we hold failed."""
        if error.errno != errno_module.ESRCH:
            raise error
        state = _procfs.thread_state(tracee.tid)
        if state is None or state in (b"Z", b"X") or (
                _procfs.tracer_pid(tracee.tid) == os.getpid()):
            return  # killed while stopped (SIGKILL): its exit status will come
        self._lose(tracee, "no longer traced by the recorder")
        self._drop_tracee(tracee)

    def _lose(self, tracee: Tracee, reason: str) -> None:
        self._lost += 1
        self._emit(ProcessEvent(tracee, self._clock.now_ns(), Lifecycle.LOST, reason=reason,
                                thread=tracee.tid != tracee.pid))

    def _drop_tracee(self, tracee: Tracee) -> None:
        self._tracees.pop(tracee.tid, None)
        self._observe_gone(tracee)
        process = self._processes.get(tracee.pid)
        if process is not None:
            process.threads.discard(tracee.tid)
            if not process.threads and process.let_go:
                self._process_let_go(process)
            elif not process.threads:
                self._forget_process(process)

    def _begin_release(self) -> None:
        request = self._stop_request
        assert request is not None
        self._stop_reason, release = request
        self._releasing = release
        self._gate.closed = False  # from now on the loop waits for the tracees to go
        for process in list(self._processes.values()):
            if self._must_kill(process):
                process.killing = True
                self._kill(process)
        for tracee in list(self._tracees.values()):
            tracee.dropping = True
            owner = self._processes.get(tracee.pid)
            if owner is not None and owner.killing:
                continue
            if tracee.started:
                with contextlib.suppress(PtraceError):
                    pt.interrupt(tracee.tid)  # fails only if exiting: its exit will come

    def _must_kill(self, process: _Process) -> bool:
        """Released by killing: a filtered process cannot outlive us; the
        spawned tree is killed unless the release says detach."""
        release = self._releasing
        if release is None:
            return False
        return process.filtered or (process.created and release is Release.DEFAULT)

    def _kill(self, process: _Process) -> None:
        try:
            os.kill(process.pid, signal.SIGKILL)
            self._killed += 1
        except ProcessLookupError:
            pass

    def _let_go(self, tracee: Tracee, signo: int) -> None:
        """Release a stopped tracee: detach it, or let it die if it is being killed."""
        process = self._processes.get(tracee.pid)
        tid = tracee.tid
        if process is not None and process.killing:
            with contextlib.suppress(PtraceError):
                pt.cont(tid, 0)
            return  # SIGKILL is on its way; the reap removes it
        # A thread let go at its exit stop has ended already (its EXIT): no DETACH,
        # which would end its call a second time.
        if tracee.reported and tracee.started and not tracee.exited:
            self._emit(ProcessEvent(tracee, self._clock.now_ns(), Lifecycle.DETACH,
                                    signal=signo, thread=tid != tracee.pid))
        self._observe_gone(tracee)  # while it is still stopped: a last reading is exact
        try:
            pt.detach(tid, signo)
        except PtraceError as error:
            if error.errno != errno_module.ESRCH:
                raise
            return  # dying: its exit status will come
        affinity = self._saved_affinity.pop(tid, None)
        if affinity is not None:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, affinity)
        self._tracees.pop(tid, None)
        if process is not None:
            process.threads.discard(tid)
            process.let_go = True
            if not process.threads:
                self._process_let_go(process)

    def _process_let_go(self, process: _Process) -> None:
        """The last traced thread of ``process`` is gone and some were detached alive:
        the process runs on, let go (counted once, as ``detached``)."""
        if process.counted and process.pid in self._processes:
            self._detached += 1
        self._forget_process(process)

