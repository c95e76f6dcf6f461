"""Stream a G-code program to GRBL 1.1 over a byte stream: a pyserial ``Serial``, or anything with
``read(size)`` (returning what came within its ``timeout``, maybe nothing) and ``write(data)``.

Two ways to send (``mode``):

* ``counting`` (GRBL's character-counting protocol, what fast senders do): GRBL's serial receive
  buffer holds 128 bytes (127 usable).  The sender keeps the lines it sent and GRBL has not yet
  answered, and sends the next line while their bytes plus its own fit in 127; each ``ok`` or
  ``error:N`` answers the oldest.  GRBL always has the next lines at hand, so the planner never runs
  dry between short moves.
* ``simple`` (send and wait): one line, then its answer, then the next.

``$`` system commands go alone in either mode, as GRBL asks.

One thread, one loop: send what fits, send ``?`` every ``poll_s`` (GRBL answers a status report at
once, even while it holds or has a full buffer), read with a short timeout, answer what came, call
``on_progress``.  No reader thread is needed: a read returns as soon as a byte arrives, and one loop
that owns the port cannot interleave two writers.  The status replies double as a heartbeat: silence
for ``timeout_s`` is a lost connection.  :meth:`GrblSender.hold` and :meth:`GrblSender.resume` only
queue their byte, so they may be called from ``on_progress`` or from another thread.

Stops: an ``error:N`` stops the plot as Ctrl-C does (the lines in GRBL's buffer would run on): feed hold
``!``, a wait for ``Hold:0`` (decelerated: GRBL keeps its position), soft reset ``\\x18``, the profile's
pen-up lines.  After ``ALARM:N`` (GRBL stopped and locked itself) it is reset and unlocked only to lift the
pen.  Every stop raises :class:`PlotError` naming the line,
GRBL's meaning, and the ``--from-line`` to resume at (:func:`~igae_robot.plotter.grbl.unfinished_line`:
GRBL says ok when it *plans* a move, so a reset loses up to 15 acknowledged moves).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Sequence

from igae_robot.errors import PlotError

from .grbl import (
    CYCLE_START, FEED_HOLD, RX_BUFFER_BYTES, SOFT_RESET, STATUS_QUERY, Line, Program, Response, Status,
    describe_alarm, describe_error, lines_to_send, parse_response, resume_line, unfinished_line,
)

__all__ = ["GrblSender", "Progress", "PlotReport", "MODES"]

MODES = ("counting", "simple")
_TICK_S = 0.01  # the port's read timeout: how long one turn of the loop waits for GRBL


@dataclass(frozen=True)
class Progress:
    """Where a plot stands: lines GRBL acknowledged of all, the file line of the last one, GRBL's state
    and machine position from the last status report, seconds since the start, and an estimate of the
    seconds left (from the acknowledged fraction; None before the first ok); ``phase`` is "check" while
    GRBL's check mode runs the file, else "plot"."""

    acked: int
    total: int
    line: int
    state: str
    position: tuple[float, ...] | None
    elapsed_s: float
    eta_s: float | None
    phase: str = "plot"


@dataclass(frozen=True)
class PlotReport:
    acked: int
    total: int
    elapsed_s: float
    max_in_flight: int  # the most lines that were in GRBL's receive buffer at once
    errors: tuple[tuple[int, int], ...] = ()  # check mode: (file line, GRBL error code) of each refused line
    messages: tuple[str, ...] = ()  # GRBL's [MSG:...] lines


class _LinkLost(Exception):
    """Reading or writing failed, or GRBL went silent."""


class _Fault(Exception):
    """GRBL answered error:N, ALARM:N, restarted, or said something out of turn."""

    def __init__(self, kind: str, code: int | None = None, line: Line | None = None, text: str = "") -> None:
        super().__init__(kind)
        self.kind, self.code, self.line, self.text = kind, code, line, text


class GrblSender:
    """Talks to one GRBL 1.1 controller on ``port``.  ``connect()`` first, then ``stream()`` or ``check()``.

    ``pen_up`` are the lines that lift the pen (the machine profile's, as the G-code exporter writes them),
    sent after a stop.  ``on_progress(Progress)`` is called at most every ``progress_s`` seconds."""

    def __init__(
        self, port, *, port_name: str = "the serial port", mode: str = "counting", poll_s: float = 0.25,
        timeout_s: float = 10.0, wake_s: float = 2.5, pen_up: Sequence[str] = (),
        on_progress: Callable[[Progress], None] | None = None, progress_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode not in MODES:
            raise PlotError(f"unknown --mode {mode!r}; known: {', '.join(MODES)}")
        self.port, self.port_name, self.mode = port, port_name, mode
        self.poll_s, self.timeout_s, self.wake_s, self.progress_s = poll_s, timeout_s, wake_s, progress_s
        self.pen_up, self.on_progress, self.clock = tuple(pen_up), on_progress, clock
        if getattr(port, "timeout", _TICK_S) != _TICK_S:
            port.timeout = _TICK_S  # set once: pyserial reconfigures the port on every change
        self.status: Status | None = None
        self.messages: list[str] = []
        self.max_in_flight = 0
        self._rx = bytearray()
        self._inbox: deque[Response] = deque()  # answers read, not yet handled
        self._requests: deque[bytes] = deque()
        self._inflight: deque[Line] = deque()
        self._lines: tuple[Line, ...] = ()
        self._acked = 0
        self._errors: list[tuple[int, int]] = []
        self._phase = "plot"
        self._last_rx = self._last_poll = self._status_at = self._progress_at = self._started = clock()

    # ---- public -------------------------------------------------------------------------------

    def connect(self) -> Status:
        """Wake GRBL and make sure it is Idle: wait up to ``wake_s`` for the welcome of a board that restarts
        when its port opens, end any half line an earlier sender left in its buffer, ask its status."""
        try:
            self._wait(lambda r: r.kind == "welcome", self.wake_s, poll=False)
            self._last_rx = self.clock()
            for _ in range(2):  # once more if GRBL was still starting: its welcome came instead of the ok
                self._write(b"\n")
                answer = self._wait(lambda r: r.kind in ("ok", "error", "welcome"), self.timeout_s)
                if answer is None or answer.kind != "welcome":
                    break
            status = self._query_status() if answer is not None else None
        except _LinkLost as exc:
            raise PlotError(f"{self.port_name}: {exc}") from None
        if answer is None or status is None:
            raise PlotError(f"{self.port_name}: no answer from GRBL in {self.timeout_s:g} s (is a GRBL 1.1 controller "
                            "on this port, at this --baud? is another program holding the port?)")
        if status.state != "Idle":
            raise PlotError(f"{self.port_name}: GRBL is in state {status.state}, not Idle; {_STATE_HINTS.get(status.state, '')}"
                            "nothing was sent")
        self._inbox.clear()  # greetings and messages: nothing a line of the file could be answered by
        return status

    def hold(self) -> None:
        """Feed hold (``!``): the machine decelerates and waits; sent at the loop's next turn."""
        self._requests.append(FEED_HOLD)

    def resume(self) -> None:
        """Cycle start (``~``): go on after a hold."""
        self._requests.append(CYCLE_START)

    def stream(self, program: Program, from_line: int = 1) -> PlotReport:
        """Send ``program`` from file line ``from_line`` (after a prelude that restores its modes and lifts the
        pen, when that is not the first line) and wait until the machine is Idle.  PlotError on any stop."""
        self._phase = "plot"
        try:
            self._run(lines_to_send(program, from_line, self.pen_up), keep_going=False)
            self._until_idle()
        except (KeyboardInterrupt, _Fault, _LinkLost) as exc:
            raise self._stop_error(exc, program, from_line) from None
        return self._report()

    def check(self, program: Program, from_line: int = 1) -> PlotReport:
        """Run ``program`` through GRBL's check mode (``$C``: parsed, nothing moves), collecting every
        ``error:N`` with its file line (``PlotReport.errors``), then leave check mode (GRBL resets)."""
        self._phase = "check"
        try:
            answer = self._command("$C")
            if answer.kind != "ok":
                raise PlotError(f"{self.port_name}: GRBL refused check mode ($C): {_describe(answer)}")
            self._run(program.from_line(from_line), keep_going=True)
            self._command("$C")
            if self._wait(lambda r: r.kind == "welcome", self.timeout_s) is None:
                raise _LinkLost("GRBL did not restart after leaving check mode")
        except (KeyboardInterrupt, _Fault, _LinkLost) as exc:
            raise self._stop_error(exc, program, from_line) from None
        return self._report()

    # ---- the link -----------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except OSError as exc:  # pyserial's SerialException is an OSError
            raise _LinkLost(f"write failed: {exc}") from None

    def _read(self) -> None:
        """What GRBL sent within one tick, parsed into ``self._inbox`` (status reports also update ``self.status``)."""
        try:
            data = self.port.read(max(1, getattr(self.port, "in_waiting", 0)))
        except OSError as exc:
            raise _LinkLost(f"read failed: {exc}") from None
        if data:
            self._last_rx = self.clock()
            self._rx += data
        while b"\n" in self._rx:
            raw, _, rest = bytes(self._rx).partition(b"\n")
            self._rx = bytearray(rest)
            text = raw.decode("ascii", "replace").strip()
            if text:
                response = parse_response(text, self._offset())
                if response.status is not None:
                    self.status, self._status_at = response.status, self.clock()
                self._inbox.append(response)

    def _offset(self) -> tuple[float, ...] | None:
        wco = self.status.fields.get("WCO") if self.status is not None else None
        return tuple(float(v) for v in wco.split(",")) if wco else None

    def _poll(self) -> None:
        """Queued real-time bytes out; ``?`` every ``poll_s``; a lost connection when GRBL is silent too long."""
        while self._requests:
            self._write(self._requests.popleft())
        now = self.clock()
        if now - self._last_rx > self.timeout_s:
            raise _LinkLost(f"no answer from GRBL for {self.timeout_s:g} s")
        if now - self._last_poll >= self.poll_s:
            self._write(STATUS_QUERY)
            self._last_poll = now

    def _wait(self, wanted: Callable[[Response], bool], timeout_s: float, poll: bool = True) -> Response | None:
        """The first response ``wanted`` accepts within ``timeout_s`` (others are only noted), else None."""
        deadline = self.clock() + timeout_s
        while self.clock() < deadline:
            if poll:
                self._poll()
            if not self._inbox:
                self._read()
            while self._inbox:
                response = self._inbox.popleft()
                if wanted(response):
                    return response
                if response.kind == "message":
                    self.messages.append(response.text)
        return None

    def _query_status(self) -> Status:
        self._write(STATUS_QUERY)
        self._last_poll = self.clock()
        answer = self._wait(lambda r: r.kind == "status", self.timeout_s)
        if answer is None:
            raise _LinkLost("GRBL sent no status report")
        return answer.status

    def _command(self, text: str) -> Response:
        """Send one line alone and wait for its ok, error:N or ALARM:N."""
        self._write(text.encode("ascii") + b"\n")
        answer = self._wait(lambda r: r.kind in ("ok", "error", "alarm"), self.timeout_s)
        if answer is None:
            raise _LinkLost(f"GRBL did not answer {text!r}")
        return answer

    # ---- streaming ----------------------------------------------------------------------------

    def _run(self, lines: Sequence[Line], keep_going: bool) -> None:
        """Send every line and read every answer; ``keep_going``: note error:N and go on (check mode)."""
        self._lines, self._acked, self._errors = tuple(lines), 0, []
        self._inflight.clear()
        self._started = self._last_rx = self.clock()
        sent = 0
        while self._acked < len(self._lines):
            while sent < len(self._lines) and self._may_send(self._lines[sent]):
                self._write(self._lines[sent].payload)
                self._inflight.append(self._lines[sent])
                sent += 1
            self.max_in_flight = max(self.max_in_flight, len(self._inflight))
            self._poll()
            self._read()
            while self._inbox:
                self._answer(self._inbox.popleft(), keep_going)
            self._progress()
        self._progress(force=True)

    def _may_send(self, line: Line) -> bool:
        if not self._inflight:
            return True
        if self.mode == "simple" or line.is_system or self._inflight[-1].is_system:
            return False
        return sum(len(sent.payload) for sent in self._inflight) + len(line.payload) <= RX_BUFFER_BYTES - 1

    def _answer(self, response: Response, keep_going: bool) -> None:
        if response.kind in ("ok", "error"):
            if not self._inflight:
                raise _Fault("stray", text=f"GRBL answered {response.text!r} with no line waiting")
            line = self._inflight.popleft()
            self._acked += 1
            if response.kind == "error" and not keep_going:
                raise _Fault("error", response.code, line)
            if response.kind == "error":
                self._errors.append((line.number, response.code))
        elif response.kind == "alarm":
            raise _Fault("alarm", response.code, self._inflight[0] if self._inflight else None)
        elif response.kind == "welcome":
            raise _Fault("reset", text="GRBL restarted by itself (its reset button, a power dip, a brown-out)")
        elif response.kind == "message":
            self.messages.append(response.text)

    def _until_idle(self) -> None:
        """After the last ok: wait for a fresh status report saying Idle (the planned moves have run)."""
        since = self.clock()
        while not (self.status is not None and self._status_at > since and self.status.state == "Idle"):
            self._poll()
            self._read()
            while self._inbox:
                self._answer(self._inbox.popleft(), keep_going=False)
            self._progress()

    def _progress(self, force: bool = False) -> None:
        now = self.clock()
        if self.on_progress is None or (not force and now - self._progress_at < self.progress_s):
            return
        self._progress_at = now
        elapsed = now - self._started
        total, acked = len(self._lines), self._acked
        eta = elapsed * (total - acked) / acked if acked else None
        status = self.status or Status("")
        line = self._lines[acked - 1].number if acked else 0
        self.on_progress(Progress(acked, total, line, status.state, status.position, elapsed, eta, self._phase))

    def _report(self) -> PlotReport:
        return PlotReport(self._acked, len(self._lines), self.clock() - self._started, self.max_in_flight,
                          tuple(self._errors), tuple(self.messages))

    # ---- stopping -----------------------------------------------------------------------------

    def _clean_stop(self) -> str:
        """Feed hold, wait for the hold to complete, soft reset, lift the pen; what happened, in words."""
        try:
            self._write(FEED_HOLD)
            self._wait(lambda r: r.kind == "status" and (r.status.hold_complete or r.status.state in _STILL), self.timeout_s)
        except _LinkLost as exc:
            return f"could not stop GRBL cleanly ({exc}); the pen may still be down"
        return self._reset_and_lift(unlock=False)

    def _reset_and_lift(self, unlock: bool) -> str:
        """Soft reset, then the pen-up lines; ``unlock``: after ALARM:N, GRBL is unlocked ($X) only to lift the
        pen (the position may be lost: the user homes or checks before resuming).  What happened, in words."""
        try:
            self._write(SOFT_RESET)
            if self._wait(lambda r: r.kind == "welcome", self.timeout_s) is None:
                return "soft reset sent, but GRBL did not restart; the pen may still be down"
            self._inflight.clear()
            if self._query_status().state == "Alarm" and not (unlock and self._command("$X").kind == "ok"):
                return "GRBL is in alarm (locked), so the pen could not be lifted: check the machine, unlock ($X) or home ($H)"
            for text in self.pen_up:
                answer = self._command(text)
                if answer.kind != "ok":
                    return f"GRBL refused the pen-up line {text!r}: {_describe(answer)}"
        except _LinkLost as exc:
            return f"could not lift the pen ({exc}); it may still be down"
        if not self.pen_up:
            return "soft reset; no pen-up command known (give --machine), the pen may still be down"
        lifted = f"pen lifted ({' / '.join(self.pen_up)})"
        if unlock:
            return f"reset, unlocked ($X) only for this, {lifted}; the position may be lost: home ($H) or check the machine"
        return f"feed hold, soft reset, {lifted}"

    def _stop_error(self, exc: BaseException, program: Program, from_line: int) -> PlotError:
        """The PlotError for a stop, after stopping the machine where that is needed."""
        done = [line for line in self._lines[: self._acked] if line.number]
        pending = next((line for line in self._lines[self._acked:] if line.number), None)
        last = done[-1].number if done else None
        resume = resume_line(program, unfinished_line(done, pending)) if done or pending else from_line
        after = f"after line {last}" if last else "before GRBL acknowledged any line of the file"
        source = program.source
        if isinstance(exc, _LinkLost):
            what = f"{source}: lost the connection to GRBL on {self.port_name} {after} ({exc})"
            stopped = "reconnect (a board that restarts on connect has lost its planned moves)"
        elif isinstance(exc, KeyboardInterrupt):
            what, stopped = f"{source}: stopped by Ctrl-C {after}", self._clean_stop()
        elif exc.kind == "error":
            where = f"{source}:{exc.line.number}" if exc.line.number else f"{source}: resume prelude line"
            what, stopped = f"{where}: GRBL refused {exc.line.text!r} with {describe_error(exc.code)}", self._clean_stop()
        elif exc.kind == "alarm":
            near = f" near line {exc.line.number}" if exc.line is not None and exc.line.number else ""
            what = f"{source}: {describe_alarm(exc.code)}{near}, {after}"
            stopped = self._reset_and_lift(unlock=True)
        else:
            what, stopped = f"{source}: {exc.text} {after}", self._clean_stop()
        return PlotError(f"{what}; {stopped}; resume with --from-line {resume}", resume_from=resume, last_acked=last)


_STILL = ("Idle", "Alarm", "Check", "Door", "Sleep")

_STATE_HINTS = {
    "Alarm": "it is locked: home it ($H) or unlock it ($X) first; ",
    "Check": "it is in check mode: send $C again or reset it; ",
    "Hold": "resume it (~) or reset it first; ",
    "Door": "close the safety door first; ",
}


def _describe(answer: Response) -> str:
    if answer.kind == "error":
        return describe_error(answer.code)
    if answer.kind == "alarm":
        return describe_alarm(answer.code)
    return answer.text
