"""igae plot: the GRBL protocol (cleaning, refusals, answers), the sender against a GRBL 1.1 simulator on a
pseudo-terminal (tests/grbl_sim.py: buffer, errors, alarms, hold/resume, reset, check mode, a dropped
link), and the command through typer's CliRunner.  No real serial port is involved."""

from __future__ import annotations

import contextlib
import io

import pytest
import serial
from fixtures_machine import random_glyph_gestures
from grbl_sim import GrblSim
from typer.testing import CliRunner

from igae_robot.cli.main import app
from igae_robot.errors import PlotError
from igae_robot.exporters.gcode import write_gcode
from igae_robot.paper.machine import load_machine
from igae_robot.paper.page import Page
from igae_robot.paper.sheet import plan_sheet
from igae_robot.plotter import GrblSender, dry_run, parse_program, parse_response, pen_up_for, plot_file
from igae_robot.plotter.grbl import ALARMS, ERRORS, LINE_LIMIT, Line, clean_line, resume_line, unfinished_line

FAST = dict(wake_s=2.0, timeout_s=3.0, poll_s=0.02, progress_s=0.0)
SERVO_PEN_UP = ("M5", "G4P0.15")


@pytest.fixture(scope="module")
def igae_gcode(tmp_path_factory):
    """A real program from the G-code exporter: four glyphs on A5 for the grbl-servo profile."""
    sheet = plan_sheet(random_glyph_gestures(4, seed=3), Page.from_spec("A5"))
    text = io.StringIO()
    write_gcode(sheet, text, load_machine("grbl-servo"))
    path = tmp_path_factory.mktemp("plot") / "sheet.gcode"
    path.write_text(text.getvalue())
    return path


@pytest.fixture(scope="module")
def program(igae_gcode):
    return parse_program(igae_gcode.read_bytes(), str(igae_gcode))


@contextlib.contextmanager
def grbl(sim_options=None, **sender_options):
    """A simulator and a connected sender on its pseudo-terminal."""
    sim = GrblSim(**(sim_options or {})).start()
    port = serial.Serial(sim.port, 115200, timeout=0.01)
    try:
        sender = GrblSender(port, port_name=sim.port, **{**FAST, "pen_up": SERVO_PEN_UP, **sender_options})
        sender.connect()
        yield sim, sender
    finally:
        port.close()
        sim.close()


def texts(lines):
    return [line.text for line in lines]


# ---- the protocol, no port ----------------------------------------------------------------------


def test_lines_are_cleaned_the_way_grbl_reads_them():
    assert clean_line("g1 x10.5 (to the right) y2 ; a comment") == "G1X10.5Y2"
    assert clean_line("G0 X1 (unclosed comment Y2") == "G0X1"
    assert clean_line("; only a comment") == ""
    program = parse_program(b"; igae machine grbl-z\r\n\r\nG21\n  g90\n(note)\nG0 X1 Y2\n", "p.gcode")
    assert [(line.number, line.text) for line in program.lines] == [(3, "G21"), (4, "G90"), (6, "G0X1Y2")]
    assert program.meta["machine"] == ("grbl-z",) and not program.refusals


def test_lines_grbl_would_misread_are_refused_with_their_line_numbers():
    long = "G1 X1 " + "Y1" * 47  # 100 characters, 98 once cleaned
    data = f"G21\n%\nG1 X1 (what?) Y2\nM5 ; hold!\nG0 X1\x18\n{long}\nG0 X\xb0\n".encode("latin-1")
    program = parse_program(data, "bad.gcode")
    reasons = {r.number: r.reason for r in program.refusals}
    assert set(reasons) == {2, 3, 4, 5, 6, 7}
    assert "'%'" in reasons[2] and "'?'" in reasons[3] and "'!'" in reasons[4] and "soft reset" in reasons[5]
    assert "98 characters" in reasons[6] and str(LINE_LIMIT) in reasons[6] and "0xB0" in reasons[7]
    assert texts(program.lines) == ["G21"]
    assert program.refusal_message().startswith("bad.gcode:2: '%'") and "5 more" in program.refusal_message()


def test_line_limit_is_grbls_79_characters():
    fits, overflows = "G1X" + "1" * 76, "G1X" + "1" * 77
    assert not parse_program(fits.encode()).refusals
    assert parse_program(overflows.encode()).refusals[0].number == 1


def test_error_and_alarm_tables_are_grbl_11s():
    assert sorted(ERRORS) == [*range(1, 18), *range(20, 39)] and sorted(ALARMS) == list(range(1, 10))
    assert "Undefined feed rate" in ERRORS[22] and "Soft limit" in ALARMS[2]


def test_grbl_answers_are_parsed():
    assert parse_response("ok").kind == "ok"
    assert (parse_response("error:22").kind, parse_response("error:22").code) == ("error", 22)
    assert (parse_response("ALARM:1").kind, parse_response("ALARM:1").code) == ("alarm", 1)
    assert parse_response("Grbl 1.1h ['$' for help]").kind == "welcome"
    assert parse_response("[MSG:Caution: Unlocked]").kind == "message"
    status = parse_response("<Hold:0|MPos:1.000,2.500,-0.100|Bf:15,128|FS:0,0>").status
    assert (status.state, status.substate, status.position, status.hold_complete) == ("Hold", 0, (1.0, 2.5, -0.1), True)
    wpos = parse_response("<Run|WPos:1.000,2.000,0.000|FS:500,0|WCO:10.000,0.000,0.000>").status
    assert wpos.position == (11.0, 2.0, 0.0)


def test_resume_goes_back_to_the_stroke_start_and_past_planned_moves():
    program = parse_program(b"G21\nM5\nG0 X0 Y0\nM3 S800\nG1 X1 Y0 F1000\nG1 X2 Y0\nG1 X3 Y0\nM5\nG0 X9 Y9\n")
    lines = program.lines
    # GRBL acknowledged up to G1 X2 (line 6): the moves after the pen-down M3 may not have run.
    assert unfinished_line(lines[:5], lines[5]) == 5
    assert resume_line(program, 5) == 3  # the travel before the stroke
    assert unfinished_line(lines[:8], None) == 9  # M5 synchronises: everything before it ran
    assert unfinished_line([Line(i, f"G1X{i}") for i in range(1, 41)], None) == 26  # 15 planned moves back


def test_pen_up_comes_from_the_profile_or_the_file(program):
    assert pen_up_for(program) == ("M5", "G4 P0.15")  # the file names grbl-servo
    assert pen_up_for(program, "grbl-z") == ("G0 Z5",)
    assert pen_up_for(parse_program(b"; igae pen z 7.5 0 0.5\nG0 X1\n")) == ("G0 Z7.5",)
    assert pen_up_for(parse_program(b"G0 X1\n")) == ()


# ---- the sender against the simulator -----------------------------------------------------------


def test_an_igae_file_streams_in_order_without_overrunning_grbl(program):
    with grbl() as (sim, sender):
        report = sender.stream(program)
    assert sim.received == texts(program.lines) and report.acked == report.total == len(program.lines)
    assert sim.overflows == 0
    assert sim.max_lines_buffered >= 2 and report.max_in_flight >= 2  # counting keeps GRBL's buffer busy
    assert sim.position[:2] == [0.0, 0.0] and sim.state == "Idle"  # ends back at the origin, the moves done
    assert "[MSG:Pgm End]" in report.messages


def test_counting_fills_the_buffer_with_long_lines_and_never_overruns_it():
    # Long lines (48 bytes cleaned): two fit GRBL's 127 bytes, a third would overrun it.
    lines = "".join(f"G1 X{i}.123456789 Y{i}.987654321 Z0.000000001 F1234.5678 (pad pad pad)\n" for i in range(60))
    program = parse_program(lines.encode())
    with grbl({"planner_blocks": 1, "exec_s": 0.003}) as (sim, sender):
        sender.stream(program)
    assert sim.overflows == 0 and sim.received == texts(program.lines)
    # Short lines (~26 bytes): four fit, so while the planner is busy several wait in the receive buffer.
    # (With the long lines only one waits there besides the one being read: whether a second does was timing.)
    short = parse_program("".join(f"G1 X{i}.1 Y{i}.9 F1234.5\n" for i in range(60)).encode())
    with grbl({"planner_blocks": 1, "exec_s": 0.003}) as (sim, sender):
        sender.stream(short)
    assert sim.overflows == 0 and sim.received == texts(short.lines)
    assert sim.max_lines_buffered >= 2


def test_simple_mode_sends_one_line_at_a_time(program):
    with grbl(mode="simple") as (sim, sender):
        report = sender.stream(program)
    assert sim.received == texts(program.lines)
    assert sim.max_lines_buffered <= 1 and report.max_in_flight == 1


def test_progress_reports_lines_position_state_and_eta(program):
    seen = []
    with grbl(on_progress=seen.append) as (_, sender):
        sender.stream(program)
    assert seen[-1].acked == seen[-1].total == len(program.lines) and seen[-1].eta_s == 0
    assert any(p.state == "Run" and p.position is not None for p in seen)
    assert all(a.acked <= b.acked for a, b in zip(seen, seen[1:]))


def test_error_stops_the_plot_naming_the_line_and_grbls_meaning(program):
    with grbl({"errors": {30: 22}}) as (sim, sender), pytest.raises(PlotError) as caught:
        sender.stream(program)
    line = program.lines[29]
    message = str(caught.value)
    assert f"{program.source}:{line.number}:" in message and "error:22" in message and "Undefined feed rate" in message
    assert "--from-line" in message and caught.value.resume_from <= line.number
    # the machine was stopped: feed hold, then reset, then the pen lifted
    assert sim.realtime.index(b"!") < sim.realtime.index(b"\x18") and sim.resets == 1
    assert sim.received[-2:] == list(SERVO_PEN_UP) and sim.state == "Idle"


def test_alarm_stops_the_plot(program):
    with grbl({"alarm": (25, 2)}) as (sim, sender), pytest.raises(PlotError) as caught:
        sender.stream(program)
    message = str(caught.value)
    assert "ALARM:2" in message and "Soft limit" in message and "$X" in message and "--from-line" in message
    assert "pen lifted" in message and "home ($H)" in message and len(sim.received) < len(program.lines)
    # the machine stopped itself; after a reset it is unlocked only to lift the pen, which comes last
    assert sim.resets == 1 and sim.received[-3:] == ["$X", *SERVO_PEN_UP]


def test_hold_and_resume_through_the_api(program):
    events = []

    def on_progress(p):
        if p.acked >= 20 and not events:
            sender.hold()
            events.append("hold")
        elif events == ["hold"] and sender.status.hold_complete:
            sender.resume()
            events.append("resume")

    with grbl(on_progress=on_progress) as (sim, sender):
        report = sender.stream(program)
    assert events == ["hold", "resume"] and "Hold:0" in sim.states
    assert sim.realtime.index(b"!") < sim.realtime.index(b"~")
    assert report.acked == len(program.lines) and sim.received == texts(program.lines) and sim.resets == 0


def test_ctrl_c_holds_resets_and_lifts_the_pen(program):
    def on_progress(p):
        if p.acked >= 40:
            raise KeyboardInterrupt

    with grbl(on_progress=on_progress) as (sim, sender), pytest.raises(PlotError) as caught:
        sender.stream(program)
    message = str(caught.value)
    assert "Ctrl-C" in message and "pen lifted" in message and "--from-line" in message
    assert sim.realtime.index(b"!") < sim.realtime.index(b"\x18") and sim.resets == 1
    assert sim.state == "Idle"  # reset after the hold completed: no ALARM:3, position kept
    assert sim.received[-2:] == list(SERVO_PEN_UP)


def test_disconnect_names_the_last_line_then_from_line_finishes(program):
    with grbl({"disconnect_after": 50}) as (sim, sender), pytest.raises(PlotError) as caught:
        sender.stream(program)
    error = caught.value
    assert sim.disconnected and error.last_acked == program.lines[49].number
    assert f"after line {error.last_acked}" in str(error) and f"--from-line {error.resume_from}" in str(error)
    assert error.resume_from <= error.last_acked
    with grbl() as (sim, sender):
        report = sender.stream(program, from_line=error.resume_from)
    rest = texts(program.from_line(error.resume_from))
    assert sim.received[-len(rest):] == rest and report.acked == report.total and sim.overflows == 0
    prelude = sim.received[: -len(rest)]
    assert prelude[:2] == ["G21", "G90"] and prelude[2:4] == list(SERVO_PEN_UP)


def test_check_mode_collects_every_refused_line_and_leaves(program):
    with grbl({"errors": {7: 20, 41: 33}}) as (sim, sender):
        report = sender.check(program)
        assert sim.state == "Idle" and sim.resets == 1  # left check mode, GRBL restarted
    assert report.errors == ((program.lines[6].number, 20), (program.lines[40].number, 33))
    assert sim.position == [0.0, 0.0, 0.0]  # nothing moved


def test_connect_refuses_a_locked_grbl_and_a_silent_port():
    sim = GrblSim()
    sim.state = "Alarm"
    with serial.Serial(sim.port, timeout=0.01) as port, sim:
        with pytest.raises(PlotError, match=r"Alarm.*\$X"):
            GrblSender(port, **FAST).connect()
    mute = GrblSim()  # never started: nothing answers
    with serial.Serial(mute.port, timeout=0.01) as port:
        with pytest.raises(PlotError, match="no answer from GRBL"):
            GrblSender(port, **{**FAST, "wake_s": 0.05, "timeout_s": 0.3}).connect()
    mute.close()


# ---- plot_file and the command ------------------------------------------------------------------


def test_plot_file_checks_then_plots(igae_gcode, program):
    with GrblSim() as sim:
        report = plot_file(igae_gcode, sim.port, check=True, **FAST)
    assert report.acked == len(program.lines) and sim.resets == 1  # the check mode's reset
    assert sim.received == ["$C", *texts(program.lines), "$C", *texts(program.lines)]


def test_plot_file_stops_when_the_check_fails(igae_gcode, program):
    with GrblSim(errors={12: 33}) as sim, pytest.raises(PlotError, match=r"check mode.*error:33"):
        plot_file(igae_gcode, sim.port, check=True, **FAST)
    assert sim.position == [0.0, 0.0, 0.0]


def test_refused_lines_stop_everything_before_the_port_opens(tmp_path):
    bad = tmp_path / "bad.gcode"
    bad.write_text("G21\n%\nG0 X1\n")

    def opener(*_):
        raise AssertionError("the port was opened")

    with pytest.raises(PlotError, match=r"bad.gcode:2: '%'.*nothing was sent"):
        plot_file(bad, "/dev/null", opener=opener)
    good = tmp_path / "good.gcode"
    good.write_text("G0 X1\n")
    with pytest.raises(PlotError, match="--from-line 9 is outside"):
        plot_file(good, "/dev/null", from_line=9, opener=opener)


def test_dry_run_lists_the_lines_from_a_resume_point(igae_gcode, program):
    run = dry_run(igae_gcode, from_line=program.lines[30].number)
    assert texts(run.lines)[:4] == ["G21", "G90", "M5", "G4P0.15"] and run.lines[0].number == 0
    assert run.lines[-len(program.lines) + 30:] == program.lines[30:]


runner = CliRunner()


def test_cli_dry_run_prints_numbered_lines_and_opens_no_port(igae_gcode, program):
    result = runner.invoke(app, ["plot", str(igae_gcode), "--dry-run"])
    assert result.exit_code == 0, result.output
    first = program.lines[0]
    assert f"{first.number:>6}  {first.text}" in result.stdout
    assert f"{len(program.lines)} lines to send" in result.stderr and "M5 / G4 P0.15" in result.stderr


def test_cli_dry_run_shows_refusals_and_fails(tmp_path):
    bad = tmp_path / "bad.gcode"
    bad.write_text("G21\nG0 X1 (where?)\n" + "G1 X1 " + "Y1" * 47 + "\n")
    result = runner.invoke(app, ["plot", str(bad), "--dry-run"])
    assert result.exit_code == 2, result.output
    assert f"{bad}:2:" in result.stderr and "'?'" in result.stderr and f"{bad}:3:" in result.stderr
    assert "     1  G21" in result.stdout


def test_cli_plot_streams_to_grbl(igae_gcode, program):
    with GrblSim() as sim:
        result = runner.invoke(app, ["plot", str(igae_gcode), "--port", sim.port, "--mode", "simple"])
    assert result.exit_code == 0, result.output
    assert f"plotted {igae_gcode}: {len(program.lines)} lines" in result.stderr
    assert sim.received == texts(program.lines)


def test_cli_errors_are_one_line(igae_gcode):
    result = runner.invoke(app, ["plot", str(igae_gcode)])
    assert result.exit_code == 2 and "--port is required" in result.stderr
    result = runner.invoke(app, ["plot", str(igae_gcode), "--port", "/dev/no-such-port"])
    assert result.exit_code == 2 and "cannot open serial port /dev/no-such-port" in result.stderr
    result = runner.invoke(app, ["plot", str(igae_gcode), "--port", "x", "--mode", "fast"])
    assert result.exit_code == 2 and "unknown --mode 'fast'" in result.stderr


def test_space_pauses_and_resumes_the_plot_from_the_keyboard():
    from igae_robot.cli.plot_commands import key_action

    assert key_action(" ", "Run") == "hold" and key_action("p", "Idle") == "hold"
    assert key_action(" ", "Hold") == "resume" and key_action("r", "Hold") == "resume"
    assert key_action(None, "Run") is None and key_action("x", "Run") is None and key_action("r", "Run") is None


def test_plot_file_hands_its_sender_to_a_caller_that_pauses_it(igae_gcode):
    from igae_robot.plotter import plot_file

    path = igae_gcode
    senders, states = [], []

    def on_progress(p):
        states.append(p.state)
        if p.acked >= 10 and senders and "held" not in states:
            senders[0].hold()
            states.append("held")
        elif "held" in states and p.state == "Hold" and "resumed" not in states:
            senders[0].resume()
            states.append("resumed")

    with GrblSim(exec_s=0.001) as sim:
        report = plot_file(path, sim.port, machine="grbl-servo", on_progress=on_progress, on_sender=senders.append)
    assert report.acked == report.total and "resumed" in states and b"!" in sim.realtime and b"~" in sim.realtime
