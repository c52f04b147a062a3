"""The ``thuiszit-eval`` command line.

Bad input never produces a traceback. ``validate`` exits 0 when the cohort is clean (warnings
allowed), 1 when rows were rejected or a required table is empty (the report says which and
why), 2 when the cohort cannot be read at all (a one-line message naming the file and what to
do). Messages never echo a number that passes the 11-proef and cut long values.

Example
-------
::

    thuiszit-eval validate data_schema/example
    thuiszit-eval validate my_cohort --report problems.csv
    thuiszit-eval pseudonymise raw_export/ cohort/ --key-file ~/.thuiszit.key
    thuiszit-eval simulate --pupils 2000 --seed 1 --out sim_cohort
    thuiszit-eval report my_cohort --out report/ --lang nl --min-cell 10
    thuiszit-eval demo
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__

EXIT_OK, EXIT_REJECTED, EXIT_ERROR = 0, 1, 2


def _validate(args: argparse.Namespace) -> int:
    from .cohort import Cohort
    from .privacy import mask_text
    from .reading import CohortError

    cohort = Cohort.load(args.folder)
    print(mask_text(cohort.report.summary(per_rule=args.per_rule)))
    if args.report:
        try:
            cohort.report.to_csv(args.report)
        except OSError as exc:
            raise CohortError(
                f"--report {args.report}: cannot be written ({exc.strerror or exc})"
            ) from None
        print(f"\nEvery problem row written to {args.report}")
    # Not ok = a row rejected or a required table empty/missing: the analysis would lose data.
    return EXIT_OK if cohort.report.ok else EXIT_REJECTED


def _pseudonymise(args: argparse.Namespace) -> int:
    from .privacy import mask_text, pseudonymise_folder

    report = pseudonymise_folder(
        Path(args.raw), Path(args.out), Path(args.key_file),
        keep=args.keep, drop=args.drop, pseudonymise=args.pseudonymise,
    )
    print(mask_text(report.summary()))
    return EXIT_OK


def _simulate(args: argparse.Namespace) -> int:
    from .simulate import write_simulated_cohort

    out = write_simulated_cohort(
        args.out,
        n_pupils=args.pupils,
        seed=args.seed,
        messy_rate=args.messy,
        file_format=args.format,
        progress=not args.quiet,
    )
    print(f"Simulated cohort of {args.pupils} pupils (seed {args.seed}) written to {out}")
    return EXIT_OK


def _dictionary(args: argparse.Namespace) -> int:
    from .schema import data_dictionary

    print(data_dictionary())
    return EXIT_OK


def _analyse(args: argparse.Namespace) -> int:
    from .analyse import analyse_cohort
    from .cohort import Cohort

    cohort = Cohort.load(args.cohort)
    tables = analyse_cohort(cohort, args.out, min_cell=args.min_cell)
    print(f"{len(tables)} tables, figures and README.md written to {args.out}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from .report import build_report

    rep = build_report(args.cohort, args.out, lang=args.lang, min_cell=args.min_cell,
                       seed=args.seed, progress=not args.quiet)
    print(rep.summary())
    return EXIT_REJECTED if rep.failed else EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from .simulate import demo_cohort_path

    args.cohort = demo_cohort_path()
    code = _report(args)
    print(f"\nThe demo report is at {Path(args.out).resolve() / 'report.html'}")
    return code


def _add_report_options(p: argparse.ArgumentParser, default_out: str | None) -> None:
    p.add_argument("--out", required=default_out is None, default=default_out,
                   help="folder for report.html, the executed notebooks and the tables")
    p.add_argument("--lang", choices=["nl", "en"], default="nl", help="language (nl)")
    p.add_argument("--min-cell", type=int, default=10,
                   help="counts below this are suppressed (10)")
    p.add_argument("--seed", type=int, default=1, help="seed for bootstraps (1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="thuiszit-eval",
        description="Evaluate how quickly thuiszitters return to school.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="validate a cohort folder and report every rejected row")
    v.add_argument("folder", help="cohort folder with datapackage.json")
    v.add_argument("--report", metavar="FILE", help="write every problem row to this CSV")
    v.add_argument("--per-rule", type=int, default=3, help="problems shown per rule (3)")
    v.set_defaults(func=_validate)

    ps = sub.add_parser(
        "pseudonymise",
        help="keyed pseudonyms for pupil and school ids; drop names and BSN; birth date → month",
    )
    ps.add_argument("raw", help="folder with the raw export (CSV)")
    ps.add_argument("out", help="folder to write the pseudonymised cohort to")
    ps.add_argument(
        "--key-file", required=True, help="secret key file (created if absent); keep it "
        "outside the cohort folder and reuse it next year so pupils link across cohorts",
    )
    for flag, what in (
        ("--keep", "copy column COL as it is (you checked it holds no identifying data)"),
        ("--drop", "leave column COL out of the output"),
        ("--pseudonymise", "replace the values of column COL by keyed pseudonyms"),
    ):
        ps.add_argument(flag, metavar="COL", action="append", default=[],
                        help=f"{what}; repeat for several columns. Needed for columns that "
                        "look like ids, names, e-mail addresses, phone numbers or postcodes")
    ps.set_defaults(func=_pseudonymise)

    s = sub.add_parser("simulate", help="write a synthetic cohort with a known truth")
    s.add_argument("--pupils", type=int, default=2000, help="number of pupils (2000)")
    s.add_argument("--seed", type=int, default=1, help="random seed (1)")
    s.add_argument("--out", required=True, help="folder to write the cohort to")
    s.add_argument("--messy", type=float, default=0.0, metavar="RATE",
                   help="inject export errors in this share of rows, recorded in "
                   "injected_errors.csv")
    s.add_argument("--format", choices=["csv", "parquet"], default="csv")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_simulate)

    a = sub.add_parser("analyse", help="time to return per intervention: KM, CIF, Cox, "
                       "Fine–Gray tables and figures")
    a.add_argument("cohort", help="cohort folder with datapackage.json")
    a.add_argument("--out", required=True, help="folder to write tables and figures to")
    a.add_argument("--min-cell", type=int, default=10,
                   help="smallest count shown in the tables (10)")
    a.set_defaults(func=_analyse)

    r = sub.add_parser("report", help="run every notebook on a cohort and render one HTML "
                       "report with small cells suppressed")
    r.add_argument("cohort", help="cohort folder with datapackage.json")
    _add_report_options(r, None)
    r.set_defaults(func=_report)

    dm = sub.add_parser("demo", help="the report on the simulated demo cohort")
    _add_report_options(dm, "demo-report")
    dm.set_defaults(func=_demo)

    d = sub.add_parser("dictionary", help="print the data dictionary (Markdown)")
    d.set_defaults(func=_dictionary)
    return p


def _say(text: str) -> str:
    """A message safe to print: numbers passing the 11-proef masked, long values cut."""
    from .privacy import mask_text
    from .reading import shorten

    return mask_text(shorten(text, 1000))


def main(argv: list[str] | None = None) -> int:
    from .reading import CohortError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CohortError as exc:
        print(f"thuiszit-eval: {_say(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except (OSError, ValueError, MemoryError) as exc:
        print(f"thuiszit-eval {args.command}: {_say(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"thuiszit-eval {args.command}: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug, not bad input: still words, no traceback
        print(
            f"thuiszit-eval {args.command}: unexpected {type(exc).__name__} "
            f"({_say(str(exc))[:200]}). This is a bug in thuiszit-eval, not in your data; "
            "please report it with this message",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
