"""``glassnet grade WORKSHEET ANSWERS``: grade a learner's filled-in worksheet (right, carried, wrong, and why).

Exit status 0 whether or not the learner was right (a grading is not an error); 2 for bad input (a damaged
worksheet file, an answer to a blank that does not exist), as every command.
"""

from __future__ import annotations

import argparse
import sys

from glassnet.errors import DataError
from glassnet.interfaces.cli.common import HelpFormatter
from glassnet.interfaces.cli.outputs import Writer, check_files

GRADING = Writer("a grading", "graded.html", (".html", ".htm", ".json", ".txt", ""))

EXAMPLES = """examples:
  glassnet explain --layers 2,3,1 --data xor --worksheet --format json --out sheet.json --answer-sheet answers.csv
  glassnet grade sheet.json answers.csv                      # the verdicts on the screen
  glassnet grade sheet.json answers.json --format html --out graded.html
  glassnet grade sheet.json answers.csv --decimal ,          # every comma is a decimal comma ("1,234" = 1.234)

Answers: JSON {"1": "0.3775", ...} (by blank number, or by symbol where it names one blank) or a list in order;
or CSV number,answer (a header such as number,answer or Nr;Antwort is read; ';' works too) or one value per
line (an empty line is a blank left empty). Lines that are all "1,106" (number,answer or a decimal comma?) are
an error: add the header number,answer or use ';'.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("grade", help="grade a learner's answers to a worksheet, with error carried forward",
                              epilog=EXAMPLES, formatter_class=HelpFormatter)
    p.add_argument("worksheet", help="the teacher's worksheet file (.json of glassnet explain --worksheet --format json)")
    p.add_argument("answers", help="the learner's answers: .json, or .csv (number,answer) / one value per line")
    p.add_argument("--format", default=None, choices=["text", "html", "json"],
                   help="output format (default: from the --out suffix, else text)")
    p.add_argument("--out", default=None, help="write to this file (.html, .json, .txt) instead of the screen")
    p.add_argument("--decimal", default=None, choices=[",", "."],
                   help="read every comma (',') or every dot ('.') in an answer as the decimal point (default: "
                        "decide from each value: '0,3775' and '1.234,5' use a decimal comma)")
    p.set_defaults(func=run)


def _is_worksheet(path: str) -> bool:
    from glassnet.explain.sheetfile import load_worksheet

    try:
        load_worksheet(path)
    except DataError:
        return False
    return True


def run(args: argparse.Namespace) -> int:
    from glassnet.explain.grade import grade
    from glassnet.explain.sheetfile import load_worksheet

    check_files(inputs={"WORKSHEET": args.worksheet, "ANSWERS": args.answers}, outputs={"--out": (args.out, GRADING)})
    try:
        sheet = load_worksheet(args.worksheet)
    except DataError:
        if not _is_worksheet(args.answers):
            raise
        raise DataError(f"{args.answers} is the worksheet and {args.worksheet} is not: WORKSHEET (the teacher's .json "
                        f"file) comes first, then ANSWERS: glassnet grade {args.answers} {args.worksheet}") from None
    grading = grade(sheet, args.answers, args.decimal)
    if args.out:
        grading.save(args.out, args.format)
        print(f"graded {grading.total} blanks: {grading.summary()}; wrote {args.out}")
    else:
        sys.stdout.write(grading.render(args.format or "text"))
    return 0
