"""A GRBL 1.1 controller, as far as its serial protocol goes, on a pseudo-terminal.

The simulator serves the master side of ``os.openpty()`` from a thread; the code under test opens the
slave side by its path (``sim.port``) with pyserial, exactly as it would open /dev/ttyUSB0.

What it does, as GRBL 1.1 does:

* the welcome ``Grbl 1.1h ['$' for help]`` once the port is opened, as an Arduino that restarts then;
* a 128-byte receive buffer (127 usable).  A byte that arrives when it is full is lost and counted in
  ``overflows`` (a sender that overruns GRBL corrupts lines; the tests assert there are none);
* real-time bytes are picked out of the stream on arrival, never buffered: ``?`` answers a status
  report ``<State|MPos:x,y,z|Bf:blocks,bytes|FS:0,0>``, ``!`` holds (``Hold:1`` while decelerating,
  then ``Hold:0``), ``~`` resumes a completed hold, ``\\x18`` resets (the welcome again; ALARM:3 and a
  locked machine when it was moving);
* lines are read one at a time from the buffer.  A move (X/Y/Z words) takes a planner block and is
  answered ``ok`` at once while a block is free, else it waits, and the buffer behind it fills; each
  block then takes ``exec_s`` to run, moving the position to its target.  M-codes and G4 wait for the
  planner to run empty, as GRBL's spindle and dwell synchronisation does;
* ``$C`` enters check mode (lines parsed, nothing moves) and, sent again, leaves it with a reset;
  ``$X`` unlocks an alarm; G-code in an alarm is ``error:9``;
* the link's delay on demand (``link_s``, each way), so that streaming modes can be compared;
* faults on demand: ``errors={k: code}`` answers the k-th G-code line received with ``error:code``;
  ``alarm=(k, code)`` raises ``ALARM:code`` at the k-th line and locks until a reset;
  ``disconnect_after=k`` closes the pty soon after line k+1 arrives (k lines answered, no more).

It records what a test asserts on: ``received`` (lines in arrival order), ``overflows``,
``max_lines_buffered`` (complete lines waiting in the receive buffer at once), ``states`` (every state
a status report gave), ``realtime`` (real-time bytes in order).
"""

from __future__ import annotations

import os
import re
import select
import termios
import threading
import time
import tty
from collections import deque

WELCOME = b"\r\nGrbl 1.1h ['$' for help]\r\n"
_WORDS = re.compile(r"([A-Z])([-+]?[0-9.]+)")


class GrblSim:
    def __init__(self, *, planner_blocks: int = 4, exec_s: float = 0.002, errors: dict[int, int] | None = None,
                 alarm: tuple[int, int] | None = None, disconnect_after: int | None = None,
                 rx_size: int = 128, decel_s: float = 0.01, link_s: float = 0.0) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing: bytes pass as they are, both ways
        self._closed_settings = termios.tcgetattr(self._slave)
        self.port = os.ttyname(self._slave)
        self.planner_blocks, self.exec_s, self.rx_size, self.decel_s = planner_blocks, exec_s, rx_size, decel_s
        # the link's one-way delay (USB-serial adapters add about half a millisecond each way): bytes reach
        # GRBL, and its answers reach the host, this much later; a sender that waits for every ok pays it twice a line
        self.link_s = link_s
        self._inbound: deque[tuple[float, bytes]] = deque()
        self._outbound: deque[tuple[float, bytes]] = deque()
        self.errors, self.alarm, self.disconnect_after = dict(errors or {}), alarm, disconnect_after
        self._welcome_at: float | None = None  # when the board, reset by the port opening, greets
        # what the tests look at
        self.received: list[str] = []
        self.overflows = 0
        self.max_lines_buffered = 0
        self.states: list[str] = []
        self.realtime: list[bytes] = []
        self.resets = 0
        self.disconnected = False
        # the machine
        self.state = "Idle"
        self.position = [0.0, 0.0, 0.0]
        self._target = [0.0, 0.0, 0.0]
        self._rx = bytearray()
        self._planner: deque[list] = deque()  # [target xyz, seconds left]
        self._waiting: tuple[str, int] | None = None  # a line read from the buffer, not yet answered
        self._count = 0  # G-code lines read so far
        self._locked_until_reset = False
        self._hold_since = 0.0
        self._die_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    # ---- the test's side ----------------------------------------------------------------------

    def start(self) -> "GrblSim":
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=5)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> "GrblSim":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- the loop -----------------------------------------------------------------------------

    def _serve(self) -> None:
        last = time.monotonic()
        while not self._stop.is_set() and not self.disconnected:
            self._boot()
            readable, _, _ = select.select([self._master], [], [], 0.001)
            if readable:
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    return
                self._inbound.append((time.monotonic() + self.link_s, data))
            now = time.monotonic()
            while self._inbound and self._inbound[0][0] <= now:
                self._receive(self._inbound.popleft()[1])
            while self._outbound and self._outbound[0][0] <= now:
                self._write(self._outbound.popleft()[1])
            if self._die_at is not None and now >= self._die_at:
                self._disconnect()
                return
            self._run_planner(now - last)
            last = now
            self._read_lines()

    def _boot(self) -> None:
        """Greet once, shortly after the port is opened: an Arduino restarts when its port opens (DTR).
        Opening shows here as new terminal settings on the slave (pyserial sets the baud rate and mode);
        the pause lets pyserial's flush of its input, the last step of opening, pass first."""
        if self._closed_settings is None:
            return
        now = time.monotonic()
        if self._welcome_at is None and termios.tcgetattr(self._slave) != self._closed_settings:
            self._welcome_at = now + 0.05
        if self._welcome_at is not None and now >= self._welcome_at:
            self._closed_settings = None
            self._send(WELCOME)

    def _send(self, data: bytes) -> None:
        if self.link_s > 0:
            self._outbound.append((time.monotonic() + self.link_s, data))
        else:
            self._write(data)

    def _write(self, data: bytes) -> None:
        if not self.disconnected:
            os.write(self._master, data)

    def _receive(self, data: bytes) -> None:
        for byte in data:
            char = bytes([byte])
            if char in (b"?", b"!", b"~", b"\x18") or byte >= 0x80:
                self.realtime.append(char)
                self._realtime(char)
            elif len(self._rx) >= self.rx_size - 1:
                self.overflows += 1
            else:
                self._rx.append(byte)
        self.max_lines_buffered = max(self.max_lines_buffered, self._rx.count(b"\n"))

    def _realtime(self, char: bytes) -> None:
        if char == b"?":
            self.states.append(self.state)
            x, y, z = self.position
            free = self.planner_blocks - len(self._planner)
            self._send(f"<{self.state}|MPos:{x:.3f},{y:.3f},{z:.3f}|Bf:{free},{self.rx_size - 1 - len(self._rx)}|FS:0,0>\r\n".encode())
        elif char == b"!" and self.state in ("Run", "Idle"):
            self.state = "Hold:1" if self.state == "Run" else "Hold:0"
            self._hold_since = time.monotonic()
        elif char == b"~" and self.state == "Hold:0":
            self.state = "Run" if self._planner else "Idle"
        elif char == b"\x18":
            self._reset()

    def _reset(self) -> None:
        self.resets += 1
        moving = self.state in ("Run", "Hold:1")
        self._rx.clear()
        self._planner.clear()
        self._waiting = None
        self._locked_until_reset = self._die_at is not None
        self._target = list(self.position)
        if moving:
            self._send(b"ALARM:3\r\n")
            self.state = "Alarm"
        elif self.state != "Alarm":
            self.state = "Idle"
        self._send(WELCOME + (b"[MSG:'$H'|'$X' to unlock]\r\n" if self.state == "Alarm" else b""))

    def _run_planner(self, dt: float) -> None:
        if self.state == "Hold:1" and time.monotonic() - self._hold_since >= self.decel_s:
            self.state = "Hold:0"
        if self.state != "Run":
            return
        while self._planner and dt > 0:
            block = self._planner[0]
            used = min(dt, block[1])
            block[1] -= used
            dt -= used
            if block[1] <= 0:
                self.position = list(block[0])
                self._planner.popleft()
        if not self._planner:
            self.state = "Idle"

    # ---- lines --------------------------------------------------------------------------------

    def _read_lines(self) -> None:
        while not self.disconnected and not self._locked_until_reset:
            if self._waiting is None:
                if b"\n" not in self._rx:
                    return
                raw, _, rest = bytes(self._rx).partition(b"\n")
                self._rx = bytearray(rest)
                line = raw.decode("ascii").strip().upper().replace(" ", "")
                if line and not line.startswith("$"):
                    self._count += 1
                    self.received.append(line)
                    if self.disconnect_after is not None and self._count > self.disconnect_after:
                        self._die_at = time.monotonic() + 0.05  # the answers already sent get through first
                        self._locked_until_reset = True  # never reset: the link goes
                        return
                elif line:
                    self.received.append(line)
                self._waiting = (line, self._count)
            reply = self._execute(*self._waiting)
            if reply is None:  # the planner is full, or must run empty first: GRBL waits here
                return
            self._waiting = None
            self._send(reply)

    def _disconnect(self) -> None:
        self.disconnected = True
        os.close(self._master)
        self._master = -1

    def _execute(self, line: str, index: int) -> bytes | None:
        """The answer to one line, or None while it must wait."""
        if not line:
            return b"ok\r\n"
        if line.startswith("$"):
            return self._system(line)
        if self.state == "Alarm":
            return b"error:9\r\n"
        if index in self.errors:
            return f"error:{self.errors[index]}\r\n".encode()
        if self.alarm is not None and index == self.alarm[0]:
            self.state, self._locked_until_reset = "Alarm", True
            self._planner.clear()
            return f"ALARM:{self.alarm[1]}\r\n[MSG:Reset to continue]\r\n".encode()
        if self.state == "Check":
            return b"ok\r\n"
        words = _WORDS.findall(line)
        if any(letter == "M" for letter, _ in words) or any(w == ("G", "4") for w in words):
            if self._planner:
                return None
            return b"[MSG:Pgm End]\r\nok\r\n" if ("M", "2") in words else b"ok\r\n"
        if any(letter in "XYZ" for letter, _ in words):
            if len(self._planner) >= self.planner_blocks:
                return None
            for letter, value in words:
                if letter in "XYZ":
                    self._target["XYZ".index(letter)] = float(value)
            self._planner.append([list(self._target), self.exec_s])
            if self.state == "Idle":
                self.state = "Run"
        return b"ok\r\n"

    def _system(self, line: str) -> bytes:
        if line == "$C":
            if self.state == "Check":
                self._send(b"[MSG:Disabled]\r\nok\r\n")
                self.state = "Idle"
                self._reset()
                return b""
            if self.state != "Idle":
                return b"error:8\r\n"
            self.state = "Check"
            return b"[MSG:Enabled]\r\nok\r\n"
        if line == "$X" and self.state == "Alarm":
            self.state = "Idle"
            return b"[MSG:Caution: Unlocked]\r\nok\r\n"
        return b"ok\r\n" if self.state in ("Idle", "Alarm", "Check") else b"error:8\r\n"
