"""The control loop: spawn or attach, follow, and turn every ptrace stop into an event.

One ``Control`` per recording. It starts the command (``spawn``) or seizes
running processes (``attach``, ``attach_group``), then ``run`` waits for all of
its tracees with ``waitpid(-1, __WALL)`` on the thread that seized them and
hands one event per stop to the consumer while that thread is still stopped.
The consumer's return resumes the thread. Resume first, record after: a
consumer with a ``prepare(event)`` method is asked first, at syscall stops;
when it returns a finisher (it has read from the stopped thread all it
needs) the thread is resumed at once and the finisher is called with the
event afterwards, while the tracee runs, instead of the consumer. Events
still reach the consumer one at a time and in stop order: only the resume
moves.

Semantics (after illumos dt_proc's create/grab and NetBSD ktrace's ktrops):

- Spawned command (create): under control before its first instruction; its
  execve is the first syscall reported. The tree it starts is killed when
  the recording is stopped (kill-on-last-close), and dies with the recorder
  (PTRACE_O_EXITKILL). ``run`` ends when every tracee is gone and reports the
  command's exit status (128+signal if killed).
- Attached processes (grab): every thread, seized without a visible SIGSTOP
  (SEIZE + INTERRUPT). On a stop request they are detached and keep running
  (run-on-last-close), with no stop left pending and no signal lost; one
  stopped by job control stays stopped (leave-hung).
- Threads are always followed; child processes only with ``follow_children``
  (``-i``). With a seccomp filter, children inherit the filter and can never
  be detached, so they stay traced: reported with ``-i``, silently resumed
  (``Tracee.reported`` false) without it, and then not counted in
  ``RunResult.processes``/``threads`` (nothing of them is in the trace).
- Signals are reported at their delivery stop and re-injected unchanged.
  Job-control stops are held with PTRACE_LISTEN so SIGSTOP/SIGTSTP/SIGCONT
  behave as without ktr.
- Exits: every thread other than the leader gets a thread EXIT (at its exit
  stop), the leader an EXITING at its exit stop (its call in flight ends
  there), every process one process EXIT when its last thread is reaped. A
  call whose entry stop a SIGKILL cut before its syscall info was read is
  read from the registers at the thread's exit stop and reported then.
  Control lost (a tracee no longer ours, a set-id exec under a non-root
  recorder) is a LOST event and counted.
- ``request_stop`` may be called from a signal handler or any thread; the
  loop notices within a few milliseconds even while blocked in waitpid
  (``run`` on the main thread installs a SIGURG handler and a wakeup fd for
  this; on another thread it polls with sleeps of up to 10 ms instead).

Waiting is adaptive: after a stop the loop polls ``waitpid(WNOHANG)`` for up
to ``spin_us`` µs before blocking (a blocked recorder on another CPU costs a
cross-CPU wakeup per stop), while timed windows of stops say that polling is
the faster way (``_state.SpinChooser``: on a loaded machine the resumed tracee
can wait behind the polling recorder); ``pin_cpu`` puts recorder and tracees
on one CPU instead and never spins. A blocking wait is one ``wait4`` system
call.

No thread is starved: ``waitpid(-1)`` reports the first pending stop in the
kernel's list of tracees, so a thread early in it whose stop is always
pending would be served every time. With more than one tracee the loop
looks, once every window of stops, for other pending stops after a wait;
while such looks find some, it takes every pending status after each wait
(``WNOHANG`` until none, at most one per other tracee) and serves them in
the order the kernel gave them before waiting again (strace -f's remedy);
after ``DRAIN_KEEP`` waits in a row with nothing else pending it stops
looking until the next window. Not guaranteed: equal shares; how much each
thread runs is still the scheduler's choice. A single tracee never drains.

A consumer may hold its output and hand it over in bulk: ``run``'s
``flush`` is called every ``FLUSH_EVERY`` stops, when the loop ends, and
after the waker has broken a blocking wait that held unflushed stops for
``HOLD_LIMIT_S`` or more (so nothing is held much past 40 ms).

Does not: decide what is recorded (the consumer does), nor read registers
beyond the syscall info. The loop reaps every child of the recorder process
(``waitpid(-1)``): the recorder must not run other child processes while
``run`` is active. ``spawn`` forks, so it must come before the recorder
starts any thread; all of spawn/attach/run must be called from one thread
(ptrace requests are only accepted from the tracer thread).

The parts live beside this module: ``_state`` (options, results, bookkeeping),
``_setup`` (spawn, attach), ``_waker``, ``_dispatch`` (the loop and stop
handlers) and ``_release`` (release policy).
"""

from __future__ import annotations

from ._dispatch import DispatchMixin
from ._release import ReleaseMixin
from ._setup import SetupMixin
from ._state import DEFAULT_SPIN_US, WALL, Consumer, ControlOptions, Release, RunResult
from ._waker import WakerMixin


class Control(SetupMixin, WakerMixin, DispatchMixin, ReleaseMixin):
    """Process control for one recording (see the module docstring)."""


__all__ = [
    "DEFAULT_SPIN_US", "WALL", "Consumer", "Control", "ControlOptions", "Release", "RunResult",
]
