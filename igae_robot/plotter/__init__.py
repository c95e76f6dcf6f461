"""Plotting over a serial port: stream G-code to a GRBL 1.1 controller (torch-free).

    grbl.py    the protocol as data and pure functions: line cleaning and refusals, error and alarm
               tables, parsing GRBL's answers, where to resume
    sender.py  GrblSender: character counting or send-and-wait over any byte stream, status polling,
               hold / resume, clean stop on Ctrl-C, errors and alarms as PlotError
    plot.py    plot_file / dry_run: file -> pen-up lines -> port -> check -> stream (``igae plot``)
"""

from __future__ import annotations

from .grbl import ALARMS, ERRORS, Line, Program, Refusal, Status, parse_program, parse_response
from .plot import DryRun, dry_run, open_port, pen_up_for, pen_up_lines, plot_file, read_program
from .sender import MODES, GrblSender, PlotReport, Progress

__all__ = [
    "ALARMS", "ERRORS", "Line", "Program", "Refusal", "Status", "parse_program", "parse_response",
    "DryRun", "dry_run", "open_port", "pen_up_for", "pen_up_lines", "plot_file", "read_program",
    "MODES", "GrblSender", "PlotReport", "Progress",
]
