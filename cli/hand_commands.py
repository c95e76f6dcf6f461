"""``igae hand``: write in your own hand.

    igae hand template -o sheet.pdf            # print it at 100%, write each character in its 3 boxes
    igae hand learn photo.jpg -o my.hand       # a phone photo or a scan of the filled sheet
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import console, out, user_errors

app = typer.Typer(name="hand", help="Write in your own hand: print a template, fill it in, learn it from a photo.", no_args_is_help=True)

_CHARS_HELP = "the characters of the sheet, in order (default: a-z A-Z 0-9 . , ; : ! ? ' \" - ( ) / & @ #)"


@app.command()
@user_errors
def template(
    output: Path = typer.Option(..., "-o", "--output", help="the sheet to print: .pdf (300 dpi) or .svg"),
    chars: Optional[str] = typer.Option(None, "--chars", help=_CHARS_HELP),
    dpi: float = typer.Option(300.0, help="resolution of a .pdf"),
) -> None:
    """Write the template sheet: boxes for every character, and the marks `igae hand learn` finds them by."""
    from igae_robot.handwriting.template import TEMPLATE_CHARS, describe_template, write_template

    layout = write_template(output, chars or TEMPLATE_CHARS, dpi)
    console.print(f"wrote {output}", highlight=False, soft_wrap=True)
    out.print(describe_template(layout), highlight=False, soft_wrap=True)


@app.command()
@user_errors
def learn(
    scan: Path = typer.Argument(..., help="a photo or scan of the filled template (all four corner marks in view)"),
    output: Path = typer.Option(..., "-o", "--output", help="the hand to write: a .hand file"),
    template_chars: Optional[str] = typer.Option(None, "--template-chars", help="the --chars the sheet was printed with"),
) -> None:
    """Learn a hand from a filled template: every box's character vectorized by the pen engine."""
    from igae_robot.handwriting.learn import learn_hand_file
    from igae_robot.handwriting.template import TEMPLATE_CHARS

    report = learn_hand_file(scan, output, template_chars or TEMPLATE_CHARS)
    console.print(f"wrote {output}", highlight=False, soft_wrap=True)
    out.print(report.describe(), highlight=False, soft_wrap=True)
