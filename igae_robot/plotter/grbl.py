"""GRBL 1.1's serial protocol as data and pure functions (no I/O, torch-free).

What goes out: G-code lines cleaned the way GRBL reads them (comments ``(...)`` and ``;...``
removed, spaces removed, upper case), each ending in ``\\n``; and single real-time bytes that GRBL
picks out of the stream before it reads any line: ``?`` status, ``!`` feed hold, ``~`` resume,
``\\x18`` soft reset, and the extended bytes 0x80..0xFF (overrides, jog cancel).

What comes back, one line each: ``ok``, ``error:N``, ``ALARM:N``, ``<Idle|MPos:1.000,2.000,0.000|...>``
status reports, ``[MSG:...]`` feedback, and the welcome ``Grbl 1.1h ['$' for help]`` after every reset.

A file line is refused (:class:`Refusal`, naming its line number) before anything is sent when GRBL
would misread it:

* a real-time character or a byte >= 0x80 anywhere in it, comments included: GRBL acts on these
  the moment they arrive, wherever they stand (igae strips comments, so it would never send one,
  but the same file through another sender holds the machine, resets it or changes its feed);
* ``%`` (a program start/end marker GRBL does not read: error:1);
* more than :data:`LINE_LIMIT` characters once cleaned.  GRBL 1.1's line buffer is
  ``LINE_BUFFER_SIZE`` 80 bytes with a terminating zero, and protocol.c flags an overflow at
  ``char_counter >= LINE_BUFFER_SIZE-1``: 79 characters fit, the 80th is error:11.

Codes and meanings are GRBL 1.1's own tables (gnea/grbl doc/csv/error_codes_en_US.csv and
alarm_codes_en_US.csv).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "RX_BUFFER_BYTES", "LINE_LIMIT", "STATUS_QUERY", "FEED_HOLD", "CYCLE_START", "SOFT_RESET", "ERRORS", "ALARMS",
    "Line", "Refusal", "Program", "Status", "Response", "clean_line", "parse_program", "parse_status", "parse_response",
    "describe_error", "describe_alarm", "resume_line", "unfinished_line", "resume_prelude", "lines_to_send", "PLANNER_BLOCKS",
]

RX_BUFFER_BYTES = 128  # GRBL's serial receive buffer (a ring: 127 bytes usable)
PLANNER_BLOCKS = 15  # moves GRBL (ATmega328p) plans ahead of the pen: an ok means "planned", not "drawn"
LINE_LIMIT = 79  # characters of a cleaned line (LINE_BUFFER_SIZE 80 less the terminating zero)
STATUS_QUERY = b"?"
FEED_HOLD = b"!"
CYCLE_START = b"~"
SOFT_RESET = b"\x18"
_REALTIME = {"?": "'?' (status query)", "!": "'!' (feed hold)", "~": "'~' (cycle start)", "\x18": "Ctrl-X (soft reset)"}

ERRORS: dict[int, str] = {
    1: "Expected command letter: G-code words consist of a letter and a value; letter was not found",
    2: "Bad number format: missing the expected G-code word value or numeric value format is not valid",
    3: "Invalid statement: Grbl '$' system command was not recognized or supported",
    4: "Value < 0: negative value received for an expected positive value",
    5: "Setting disabled: homing cycle failure; homing is not enabled via settings",
    6: "Value < 3 usec: minimum step pulse time must be greater than 3 usec",
    7: "EEPROM read fail: an EEPROM read failed; auto-restoring affected EEPROM to default values",
    8: "Not idle: Grbl '$' command cannot be used unless Grbl is IDLE",
    9: "G-code lock: G-code commands are locked out during alarm or jog state",
    10: "Homing not enabled: soft limits cannot be enabled without homing also enabled",
    11: "Line overflow: max characters per line exceeded; received command line was not executed",
    12: "Step rate > 30kHz: Grbl '$' setting value causes the step rate to exceed the maximum supported",
    13: "Check Door: safety door detected as opened and door state initiated",
    14: "Line length exceeded: build info or startup line exceeded EEPROM line length limit; line not stored",
    15: "Travel exceeded: jog target exceeds machine travel; jog command has been ignored",
    16: "Invalid jog command: jog command has no '=' or contains prohibited g-code",
    17: "Setting disabled: laser mode requires PWM output",
    20: "Unsupported command: unsupported or invalid g-code command found in block",
    21: "Modal group violation: more than one g-code command from same modal group found in block",
    22: "Undefined feed rate: feed rate has not yet been set or is undefined",
    23: "G-code command in block requires an integer value",
    24: "More than one g-code command that requires axis words found in block",
    25: "Repeated g-code word found in block",
    26: "No axis words found in block for g-code command or current modal state which requires them",
    27: "Line number value is invalid",
    28: "G-code command is missing a required value word",
    29: "G59.x work coordinate systems are not supported",
    30: "G53 only allowed with G0 and G1 motion modes",
    31: "Axis words found in block when no command or current modal state uses them",
    32: "G2 and G3 arcs require at least one in-plane axis word",
    33: "Motion command target is invalid",
    34: "Arc radius value is invalid",
    35: "G2 and G3 arcs require at least one in-plane offset word",
    36: "Unused value words found in block",
    37: "G43.1 dynamic tool length offset is not assigned to configured tool length axis",
    38: "Tool number greater than max supported value",
}

ALARMS: dict[int, str] = {
    1: "Hard limit: hard limit has been triggered; machine position is likely lost due to sudden halt; "
       "re-homing is highly recommended",
    2: "Soft limit: G-code motion target exceeds machine travel; machine position retained; alarm may be safely unlocked",
    3: "Abort during cycle: reset while in motion; machine position is likely lost due to sudden halt; "
       "re-homing is highly recommended",
    4: "Probe fail: probe is not in the expected initial state before starting probe cycle",
    5: "Probe fail: probe did not contact the workpiece within the programmed travel for G38.2 and G38.4",
    6: "Homing fail: the active homing cycle was reset",
    7: "Homing fail: safety door was opened during homing cycle",
    8: "Homing fail: pull off travel failed to clear limit switch; try increasing pull-off setting or check wiring",
    9: "Homing fail: could not find limit switch within search distances; try increasing max travel, "
       "decreasing pull-off distance, or check wiring",
}


def describe_error(code: int) -> str:
    """``"error:22 (Undefined feed rate: ...)"``."""
    return f"error:{code} ({ERRORS.get(code, 'unknown error code')})"


def describe_alarm(code: int) -> str:
    return f"ALARM:{code} ({ALARMS.get(code, 'unknown alarm code')})"


# ---- what goes out -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line to send: its 1-based line number in the file and its cleaned text (no newline)."""

    number: int
    text: str

    @property
    def payload(self) -> bytes:
        """The bytes that go out, newline included: what GRBL's receive buffer holds."""
        return self.text.encode("ascii") + b"\n"

    @property
    def is_system(self) -> bool:
        """A ``$`` command: GRBL wants these sent alone, after every earlier line is answered."""
        return self.text.startswith("$")


@dataclass(frozen=True)
class Refusal:
    number: int
    reason: str


@dataclass(frozen=True)
class Program:
    """A G-code file read for GRBL: the lines to send, the lines refused, and its ``; igae KEY ...`` metadata."""

    source: str
    lines: tuple[Line, ...]
    refusals: tuple[Refusal, ...] = ()
    meta: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def from_line(self, number: int) -> tuple[Line, ...]:
        """The lines at or after file line ``number``."""
        return tuple(line for line in self.lines if line.number >= number)

    def refusal_message(self) -> str | None:
        """``"FILE:LINE: reason"`` for the first refused line (and how many more), None when none."""
        if not self.refusals:
            return None
        first = self.refusals[0]
        more = len(self.refusals) - 1
        tail = f" (and {more} more refused line{'s' * (more != 1)}; `igae plot --dry-run` lists them)" if more else ""
        return f"{self.source}:{first.number}: {first.reason}{tail}; nothing was sent"


def clean_line(text: str) -> str:
    """A line as GRBL stores it: ``(...)`` and ``;...`` comments and whitespace removed, upper case.
    An unclosed ``(`` comments out the rest of the line, as in GRBL."""
    out = []
    in_comment = False
    for c in text:
        if in_comment:
            in_comment = c != ")"
        elif c == "(":
            in_comment = True
        elif c == ";":
            break
        elif c > " ":
            out.append(c.upper())
    return "".join(out)


def _refusal(number: int, raw: bytes) -> Refusal | None:
    high = next((b for b in raw if b >= 0x80), None)
    if high is not None:
        return Refusal(number, f"byte 0x{high:02X} (non-ASCII text?): GRBL reads bytes >= 0x80 as real-time "
                               "override commands, even inside a comment; remove it")
    text = raw.decode("ascii")
    for char, name in _REALTIME.items():
        if char in text:
            return Refusal(number, f"holds {name}, a GRBL real-time command that acts wherever it stands, "
                                   "even inside a comment; remove it")
    cleaned = clean_line(text)
    if "%" in cleaned:
        return Refusal(number, "'%' (a program start/end marker) is not G-code GRBL reads (error:1); delete the line")
    if len(cleaned) > LINE_LIMIT:
        return Refusal(number, f"{len(cleaned)} characters once spaces and comments are removed; GRBL 1.1 reads at "
                               f"most {LINE_LIMIT} (error:11); split the line")
    return None


def parse_program(data: bytes, source: str = "gcode") -> Program:
    """The lines of a G-code file (bytes) to send, each numbered by its line in the file; refused lines
    are listed, not dropped silently.  Empty and comment-only lines are not sent."""
    lines: list[Line] = []
    refusals: list[Refusal] = []
    meta: dict[str, tuple[str, ...]] = {}
    for number, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.rstrip(b"\r")
        refusal = _refusal(number, raw)
        if refusal is not None:
            refusals.append(refusal)
            continue
        text = raw.decode("ascii")
        code, _, comment = text.partition(";")
        words = comment.split()
        if len(words) >= 2 and words[0] == "igae":
            meta.setdefault(words[1], tuple(words[2:]))
        cleaned = clean_line(text)
        if cleaned:
            lines.append(Line(number, cleaned))
    return Program(source, tuple(lines), tuple(refusals), meta)


_WORD = re.compile(r"([A-Z])([-+]?[0-9.]*)")


def _is_travel(text: str) -> bool:
    """A G0 move in X or Y (the pen-up travel to a stroke's start in a plotter program)."""
    words = _WORD.findall(text)
    g0 = any(letter == "G" and value and _number(value) == 0 for letter, value in words)
    return g0 and any(letter in "XY" for letter, _ in words)


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def resume_line(program: Program, number: int) -> int:
    """Where to resume when file line ``number`` was not finished: the G0 travel that starts its stroke
    (the line itself when none comes before it).  Resuming there redraws the part of the stroke that
    was drawn, rather than starting mid-stroke without the pen down."""
    best = number
    for line in program.lines:
        if line.number > number:
            break
        if _is_travel(line.text):
            best = line.number
    return best


def _is_motion(text: str) -> bool:
    return any(letter in "XYZ" for letter, _ in _WORD.findall(text))


def _is_sync(text: str) -> bool:
    """A line GRBL answers only once every planned move has run: spindle/pen (M3 M4 M5), coolant, dwell
    (G4), program end (M2 M30), system commands."""
    words = _WORD.findall(text)
    return text.startswith("$") or any(letter == "M" for letter, _ in words) or any(
        letter == "G" and _number(value) == 4 for letter, value in words)


def unfinished_line(done: tuple[Line, ...] | list[Line], pending: Line | None) -> int:
    """The first file line that may not have been drawn, given the lines GRBL acknowledged (``done``, in
    order) and the first it did not (``pending``).  GRBL says ok when it *plans* a move, up to
    :data:`PLANNER_BLOCKS` moves ahead of the pen, and a reset (or a board that restarts when its USB
    link drops) throws the plan away; a sync line's ok means every move before it ran."""
    first = pending.number if pending is not None else (done[-1].number + 1 if done else 1)
    motions = 0
    for line in reversed(done):
        if _is_sync(line.text) or motions == PLANNER_BLOCKS:
            break
        first = line.number
        motions += _is_motion(line.text)
    return first


_MODAL_GROUPS = ((20, 21), (90, 91), (17, 18, 19), (93, 94))  # units, distance, plane, feed mode


def resume_prelude(program: Program, number: int, pen_up: tuple[str, ...]) -> tuple[Line, ...]:
    """Lines to send before resuming at file line ``number``: the units, distance, plane and feed modes
    the file set before it, the pen lifted, and the last feed rate (GRBL forgets it on reset).
    Numbered 0: they are not the file's lines."""
    modes: dict[int, str] = {}
    feed = None
    for line in program.lines:
        if line.number >= number:
            break
        for letter, value in _WORD.findall(line.text):
            g = _number(value) if letter == "G" else None
            group = next((i for i, codes in enumerate(_MODAL_GROUPS) if g in codes), None)
            if group is not None:
                modes[group] = f"G{int(g)}"
            elif letter == "F" and _number(value) is not None:
                feed = value
    texts = [modes[k] for k in sorted(modes)] + list(pen_up) + ([f"F{feed}"] if feed else [])
    return tuple(Line(0, clean_line(t)) for t in texts)


def lines_to_send(program: Program, from_line: int = 1, pen_up: tuple[str, ...] = ()) -> tuple[Line, ...]:
    """What a plot from file line ``from_line`` sends: the file's lines from there, after the resume prelude
    when that is not the start."""
    lines = program.from_line(from_line)
    return resume_prelude(program, from_line, pen_up) + lines if from_line > 1 else lines


# ---- what comes back ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """A status report ``<Run|MPos:10.000,20.000,0.000|Bf:15,128|FS:500,0>``.

    ``state`` is Idle, Run, Hold, Jog, Alarm, Door, Check, Home or Sleep; ``substate`` the number after
    a colon (``Hold:0`` hold complete, ``Hold:1`` decelerating).  ``position`` is the machine position
    (MPos, or WPos + the last work offset when GRBL reports WPos, ``$10``)."""

    state: str
    substate: int | None = None
    position: tuple[float, ...] | None = None
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def hold_complete(self) -> bool:
        return self.state == "Hold" and self.substate == 0


def _floats(text: str) -> tuple[float, ...] | None:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        return None


def parse_status(text: str, offset: tuple[float, ...] | None = None) -> Status:
    """``<...>`` -> Status; ``offset`` is the last WCO GRBL reported (WPos = MPos - WCO)."""
    parts = text.strip("<>").split("|")
    state, _, sub = parts[0].partition(":")
    fields = dict(p.partition(":")[::2] for p in parts[1:])
    position = _floats(fields["MPos"]) if "MPos" in fields else None
    if position is None and "WPos" in fields:
        wpos, wco = _floats(fields["WPos"]), _floats(fields.get("WCO", "")) or offset
        position = tuple(w + o for w, o in zip(wpos, wco)) if wpos and wco else wpos
    return Status(state, int(sub) if sub.isdigit() else None, position, fields)


@dataclass(frozen=True)
class Response:
    """One line from GRBL.  ``kind``: ok, error, alarm, status, message, welcome or other."""

    kind: str
    text: str
    code: int | None = None
    status: Status | None = None


_CODE = re.compile(r"(error|ALARM):(\d+)$")
_WELCOME = re.compile(r"^Grbl \d+\.\d+\w* \[.*\]$")


def parse_response(text: str, offset: tuple[float, ...] | None = None) -> Response:
    """One line GRBL sent (without its line ending) -> Response."""
    text = text.strip()
    if text == "ok":
        return Response("ok", text)
    match = _CODE.match(text)
    if match:
        return Response("error" if match.group(1) == "error" else "alarm", text, int(match.group(2)))
    if text.startswith("<") and text.endswith(">"):
        return Response("status", text, status=parse_status(text, offset))
    if text.startswith("[") and text.endswith("]"):
        return Response("message", text)
    if _WELCOME.match(text):
        return Response("welcome", text)
    return Response("other", text)
