"""``glassnet doctor``: diagnose hand-written backprop in a script, or browse the bug gallery."""

from __future__ import annotations

import argparse
import json
import sys

from glassnet.errors import ConfigError, UserCodeError
from glassnet.interfaces.cli.common import HelpFormatter
from glassnet.verify import gallery
from glassnet.verify.script.isolate import diagnose_file

EXAMPLES = """examples:
  glassnet doctor my_net.py              # your training script, unchanged: one pass of its loop, checked
  glassnet doctor my_net.py --json       # the same as JSON: each finding has "line" and "source"
  glassnet doctor my_net.py --loss "np.mean((y - predict(X)) ** 2)"   # when the loop prints no cost
  glassnet doctor my_net.py --params W1,b1,W2,b2                      # when the doctor misses a parameter
  glassnet doctor --gallery              # list the classic backprop bugs shipped with glassnet
  glassnet doctor --gallery bias_in_loop # diagnose one of them (python FILE.py runs it)

exit status: 0 when every check passes, 1 when problems are found, 2 for errors.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("doctor", help="check the gradients and the training step of your own NumPy code",
                              epilog=EXAMPLES, formatter_class=HelpFormatter)
    p.add_argument("file", nargs="?", help="your script (see the README section 'Checking your own backprop')")
    p.add_argument("--gallery", nargs="?", const="", default=None, metavar="NAME",
                   help="list the bug gallery, or diagnose the gallery program NAME")
    p.add_argument("--loss", metavar="EXPR", default=None,
                   help="the cost, as an expression in your script's names computed from the current parameters")
    p.add_argument("--params", metavar="NAMES", default=None,
                   help="your parameters, comma-separated as your script names them (W1,b1 or self.W1,self.b1)")
    p.add_argument("--loop", metavar="LINE", type=int, default=None, help="the first line of your training loop")
    p.add_argument("--timeout", metavar="SECONDS", type=float, default=60.0,
                   help="stop the check after this many seconds (default 60)")
    p.add_argument("--sample", type=int, default=None, help="check this many random entries per parameter (big models)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.gallery == "" and not args.file:
        return _list_gallery()
    if args.gallery:
        path = gallery.path(args.gallery)
        print(gallery.describe(args.gallery), end="\n\n")
    elif args.file:
        path = args.file
    else:
        raise ConfigError("give your script (glassnet doctor FILE.py) or --gallery to see examples")
    try:
        params = [n.strip() for n in args.params.split(",") if n.strip()] if args.params else None
        report = diagnose_file(path, loss=args.loss, params=params, loop_line=args.loop, sample=args.sample,
                               timeout=args.timeout)
    except UserCodeError as exc:
        print(exc.user_traceback, file=sys.stderr, end="")  # the user's own traceback, not glassnet's
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc)}, indent=2))
        raise
    except ConfigError as exc:
        if args.json:  # exit 2, "could not check", with the reason as data too
            print(json.dumps({"ok": False, "error": str(exc)}, indent=2))
        raise
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0 if report.ok else 1


def _list_gallery() -> int:
    items = gallery.entries()
    width = max(map(len, items))
    print("Classic hand-written backprop bugs (glassnet doctor --gallery NAME diagnoses one):\n")
    for name, summary in items.items():
        print(f"  {name:<{width}}  {summary}")
    print(f"\nThe programs are in {gallery.FOLDER}, each a training script that runs as is (python NAME.py), "
          "with its fixed twin in fixed/NAME.py. Copy one anywhere and run glassnet doctor on it.")
    return 0
