"""``glassnet hunt``: a buggy training program per student, the teacher's key, and the check of a fix.

The work is in ``glassnet.verify.hunt``; this module only reads the arguments and prints.
"""

from __future__ import annotations

import argparse
import json
import os

from glassnet.errors import ConfigError, OutputFileError
from glassnet.interfaces.cli.common import HelpFormatter
from glassnet.interfaces.cli.outputs import Writer, check_files
from glassnet.io import atomic_write
from glassnet.verify.hunt import Hunt, bug_classes
from glassnet.verify.hunt.check import HINTS

PROGRAM = Writer("a program", "hunt_7.py", (".py", ".txt", ""))
CHECK_RESULT = Writer("a check result", "check_7.txt", (".txt", ".json", ""))

EXAMPLES = """examples:
  glassnet hunt --seed 7                   # print student 7's program (one planted bug)
  glassnet hunt --seed 7 --out hunt_7.py   # write it to a file
  glassnet hunt --seed 1-30 --out class/   # a whole class: class/hunt_1.py ... class/hunt_30.py
  glassnet hunt --key --seed 7             # the teacher's key: the bug, its line, the fix, and why
  glassnet hunt --key --seed 1-30          # the keys of a whole class as a table (seed, bug, line)
  glassnet hunt --check hunt_7.py --seed 7 # is the student's fix right (exit 0), or not yet (exit 1)
  glassnet hunt --check hunt_7.py --seed 7 --out check_7.txt   # keep the check (.json: as JSON)
  glassnet hunt --list                     # the bug classes a hunt plants
  glassnet hunt --seed 1-30 --secret tulip --out class/   # with the teacher's word: students cannot print keys
  glassnet hunt --check hunt_7.py --seed 7 --secret tulip --hints full   # the doctor's words too (line, fix)

--secret WORD (or the environment variable GLASSNET_HUNT_SECRET) is mixed into every seed; give the same word
to --key and --check. --hints some (the default) names the parameters still wrong, not the line or the fix.

exit status: 0 (for --check: the fix is right), 1 for --check when it is not, 2 for errors.
"""
MAX_SEEDS = 1000  # a range longer than any class is a typo


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("hunt", help="a bug hunt per student: a training program with one planted bug",
                              epilog=EXAMPLES, formatter_class=HelpFormatter)
    p.add_argument("--seed", metavar="N", default=None,
                   help="the student's number (0 or more); a range 1-30 or a list 1,4,9 for --key and --out FOLDER")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="write the program to FILE (for several seeds: a folder, one hunt_N.py each); with --check, "
                        "the check's result")
    p.add_argument("--key", action="store_true", help="print the teacher's key instead of the program")
    p.add_argument("--check", metavar="FILE", default=None, help="check the student's fixed program FILE")
    p.add_argument("--list", action="store_true", help="list the bug classes a hunt plants")
    p.add_argument("--timeout", metavar="SECONDS", type=float, default=20.0,
                   help="for --check: the time the program (and the doctor) may run (default 20)")
    p.add_argument("--json", action="store_true", help="print the key or the check as JSON")
    p.add_argument("--secret", metavar="WORD", default=None,
                   help="the teacher's word mixed into the seed (default: $GLASSNET_HUNT_SECRET, or none); the same "
                        "word must be given to --key and --check")
    p.add_argument("--hints", choices=HINTS, default="some",
                   help="for --check: 'some' (default) says which parameters are still wrong and whether the doctor "
                        "still finds a problem; 'full' adds the doctor's findings (the line and what is wrong)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.list:
        classes = bug_classes()
        width = max(map(len, classes))
        print(f"The {len(classes)} bug classes a hunt plants (glassnet doctor --gallery NAME shows each one's "
              "classic example):\n")
        for name, title in classes.items():
            print(f"  {name:<{width}}  {title}")
        return 0
    if args.seed is None:
        raise ConfigError("give the student's seed: glassnet hunt --seed 7 (or --list to see the bug classes)")
    seeds = parse_seeds(args.seed)
    secret = args.secret if args.secret is not None else (os.environ.get("GLASSNET_HUNT_SECRET") or None)
    if args.check:
        if len(seeds) != 1:
            raise ConfigError(f"--check takes one seed, the one the program was made with, got --seed {args.seed}")
        check_files(inputs={"--check": args.check}, outputs={"--out": (args.out, CHECK_RESULT)})
        result = Hunt(seeds[0], secret).check(args.check, timeout=args.timeout)
        as_json = args.json or (args.out or "").lower().endswith(".json")
        text = json.dumps(result.to_dict(args.hints), indent=2) + "\n" if as_json else result.to_text(args.hints) + "\n"
        if args.out:  # the teacher keeps each student's check
            with atomic_write(args.out, "w", OutputFileError) as handle:
                handle.write(text)
            print(f"{args.check}: {'FIXED' if result.ok else 'NOT FIXED YET'}; the whole check written to {args.out}")
        else:
            print(text, end="")
        return 0 if result.ok else 1
    if args.key:
        return _keys(seeds, args.json, secret)
    # a path ending in a separator is a folder (made if need be), as a shell user means it
    folder = bool(args.out) and (args.out.endswith(("/", os.sep)) or os.path.isdir(args.out))
    if len(seeds) == 1 and not folder:
        check_files(inputs={}, outputs={"--out": (args.out, PROGRAM)})
        hunt = Hunt(seeds[0], secret)
        if args.out:
            hunt.save(args.out)
            print(f"wrote {args.out} (seed {seeds[0]}): one bug to find; the key: glassnet hunt --key --seed {seeds[0]}"
                  + (" --secret ..." if secret else ""))
        else:
            print(hunt.program, end="")
        return 0
    if not args.out:
        raise ConfigError(f"--seed {args.seed} gives {len(seeds)} programs: write them to a folder with --out FOLDER "
                          "(or ask for their keys with --key)")
    os.makedirs(args.out, exist_ok=True)
    for seed in seeds:
        hunt = Hunt(seed, secret)
        hunt.save(os.path.join(args.out, f"hunt_{seed}.py"))  # atomic (Hunt.save)
    print(f"wrote {len(seeds)} programs to {args.out} (hunt_{seeds[0]}.py ... hunt_{seeds[-1]}.py); their keys: "
          f"glassnet hunt --key --seed {args.seed}" + (" --secret ..." if secret else ""))
    return 0


def _keys(seeds: list[int], as_json: bool, secret: str | None) -> int:
    keys = [Hunt(seed, secret).key for seed in seeds]
    if as_json:
        print(json.dumps([k.to_dict() for k in keys] if len(keys) > 1 else keys[0].to_dict(), indent=2))
    elif len(keys) == 1:
        print(keys[0].to_text())
    else:
        width = max(len(k.bug) for k in keys)
        print(f"  {'seed':>4}  {'bug':<{width}}  line  as planted")
        for k in keys:
            print(f"  {k.seed:>4}  {k.bug:<{width}}  {k.line:>4}  {k.to_dict()['planted'].splitlines()[0]}")
        print("\nglassnet hunt --key --seed N shows one key in full: the fix, and why.")
    return 0


def parse_seeds(text: str) -> list[int]:
    """``"7"`` -> [7]; ``"1-30"`` -> 1..30; ``"1,4,9"`` -> [1, 4, 9] (ranges and lists may mix)."""
    seeds: list[int] = []
    for part in str(text).split(","):
        low, dash, high = part.strip().partition("-")
        try:
            first, last = int(low), int(high) if dash else int(low)
        except ValueError:
            raise ConfigError(f"--seed {text!r}: give whole numbers 0 or more, a range such as 1-30, or a list such "
                              "as 1,4,9") from None
        if first < 0 or last < first:
            raise ConfigError(f"--seed {text!r}: {part.strip()!r} is not a range of seeds 0 or more (write it low-high)")
        if len(seeds) + last - first + 1 > MAX_SEEDS:
            raise ConfigError(f"--seed {text!r} asks for more than {MAX_SEEDS} programs; a class needs far fewer")
        seeds += range(first, last + 1)
    return seeds
