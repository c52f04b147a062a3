"""The ``thuiszit-eval`` command line.

Bad input never produces a traceback. ``validate`` exits 0 when the cohort is clean (warnings
allowed), 1 when rows were rejected or a required table is empty (the report says which and
why), 2 when the cohort cannot be read at all (a one-line message naming the file and what to
do). Messages never echo a number that passes the 11-proef and cut long values.

``report`` and ``demo`` exit 0 when every section ran and the report passed the privacy
scan, 1 when a section failed, 2 when the cohort cannot be read, and 3 when the privacy scan
found something (an id, a count below the minimum cell size, a count that a share or a total
gives back): the report is then **not publishable**, the findings are printed and written
to ``privacy_findings.txt`` beside it, and the page carries a banner saying so.

Example
-------
::

    thuiszit-eval validate data_schema/example
    thuiszit-eval validate my_cohort --report problems.csv
    thuiszit-eval pseudonymise raw_export/ cohort/ --key-file ~/.thuiszit.key
    thuiszit-eval simulate --pupils 2000 --seed 1 --out sim_cohort
    thuiszit-eval simulate --shape no_bts --out no_bts_cohort --format xlsx
    thuiszit-eval simulate --pupils 40 --tables pupils,episodes,interventions \\
        --covariates ses_score=ses_index --regions 5 --region-prefix SWV23 --out small
    thuiszit-eval report my_cohort --out report/ --lang nl --min-cell 10
    thuiszit-eval demo
    thuiszit-eval federated-demo --min-cell 10
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__

EXIT_OK, EXIT_REJECTED, EXIT_ERROR = 0, 1, 2
#: ``report``/``demo``: the privacy scan found something; the report must not be published
EXIT_NOT_PUBLISHABLE = 3


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


def _list(text: str | None) -> list[str] | None:
    """A comma-separated option as a list; ``none`` is the empty list."""
    if text is None:
        return None
    return [] if text.strip().lower() == "none" else [t.strip() for t in text.split(",")
                                                      if t.strip()]


def _covariate_names(text: str) -> dict[str, str | None]:
    """``ses_score=ses_index,neighbourhood_type=`` (empty: leave out) or ``none``."""
    from .simulate import EXTRA_COVARIATES

    if text.strip().lower() == "none":
        return dict.fromkeys(EXTRA_COVARIATES)
    out: dict[str, str | None] = {}
    for part in _list(text) or []:
        old, sep, new = part.partition("=")
        if not sep:
            raise ValueError(f"--covariates: write OLD=NEW (or OLD= to leave it out), not "
                             f"{part!r}; OLD is one of {', '.join(EXTRA_COVARIATES)}")
        out[old.strip()] = new.strip() or None
    return out


def _simulate(args: argparse.Namespace) -> int:
    from .simulate import GAMMA, SHAPES, write_simulated_cohort

    if args.shape and args.shape not in SHAPES:
        raise ValueError(f"unknown shape {args.shape!r}; choose from {', '.join(SHAPES)}")
    kwargs = dict(SHAPES[args.shape]) if args.shape else {}
    kwargs.setdefault("n_pupils", 2000)
    given = {
        "n_pupils": args.pupils, "file_format": args.format, "tables": _list(args.tables),
        "covariate_names": (None if args.covariates is None
                            else _covariate_names(args.covariates)),
        "n_regions": args.regions, "region_prefix": args.region_prefix,
        "arms": _list(args.arms), "observation_start": args.observation_start,
    }
    if args.without is not None:
        leave_out = set(_list(args.without) or [])
        unknown = sorted(leave_out - set(GAMMA))
        if unknown:
            raise ValueError(f"--without: unknown intervention(s) {', '.join(unknown)}; "
                             f"choose from {', '.join(GAMMA)}")
        base = given["arms"] if given["arms"] is not None else kwargs.get("arms", GAMMA)
        given["arms"] = [c for c in base if c not in leave_out]
    kwargs.update({k: v for k, v in given.items() if v is not None})
    out = write_simulated_cohort(args.out, seed=args.seed, messy_rate=args.messy,
                                 progress=not args.quiet, **kwargs)
    shape = f", shape {args.shape}" if args.shape else ""
    print(f"Simulated cohort of {kwargs['n_pupils']} pupils (seed {args.seed}{shape}) "
          f"written to {out}")
    return EXIT_OK


def _dictionary(args: argparse.Namespace) -> int:
    from .schema import data_dictionary

    print(data_dictionary())
    return EXIT_OK


def _analyse(args: argparse.Namespace) -> int:
    from .analyse import analyse_cohort, needed_tables
    from .cohort import Cohort

    # only the tables the analysis uses: attendance alone is millions of rows nationally
    cohort = Cohort.load(args.cohort, tables=needed_tables())
    tables = analyse_cohort(cohort, args.out, min_cell=args.min_cell)
    print(f"{len(tables)} tables, figures and README.md written to {args.out}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from .report import build_report

    rep = build_report(args.cohort, args.out, lang=args.lang, min_cell=args.min_cell,
                       seed=args.seed, progress=not args.quiet, covariates=args.covariates,
                       verbose=args.verbose, parameters=_parameters(args.param),
                       jobs=args.jobs)
    # a quiet terminal: the sections not answered and why; --verbose lists every section
    print(rep.summary(every_section=args.verbose))
    if rep.findings:
        print(f"\nNOT PUBLISHABLE — the privacy scan found {len(rep.findings)} problem(s) "
              f"(also in {Path(args.out) / 'privacy_findings.txt'}):")
        print("\n".join(f"  - {f}" for f in rep.findings))
        return EXIT_NOT_PUBLISHABLE
    return EXIT_REJECTED if rep.failed else EXIT_OK


def _parameters(items: list[str] | None) -> dict[str, object]:
    """``KEY=VALUE`` notebook parameters; a whole number is passed as an int."""
    out: dict[str, object] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"--param {item!r}: write it as NAME=VALUE, e.g. n_boot=500")
        out[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value
    return out


def _demo(args: argparse.Namespace) -> int:
    from .simulate import demo_cohort_path

    args.cohort = demo_cohort_path()
    return _report(args)  # its summary starts with where the report is


def _federated_demo(args: argparse.Namespace) -> int:
    from .federated.demo import demo_text

    print(demo_text(min_cell=args.min_cell, group=args.group, workdir=args.workdir))
    return EXIT_OK


def _add_report_options(p: argparse.ArgumentParser, default_out: str | None) -> None:
    p.add_argument("--out", required=default_out is None, default=default_out,
                   help="folder for report.html, the executed notebooks and the tables")
    p.add_argument("--lang", choices=["nl", "en"], default="nl", help="language (nl)")
    p.add_argument("--min-cell", type=int, default=10,
                   help="counts below this are suppressed (10)")
    p.add_argument("--seed", type=int, default=1, help="seed for bootstraps (1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true",
                   help="show the notebook kernels' own messages (kept in "
                   "notebooks/kernels.log otherwise)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="notebooks run at the same time (default: one per core)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="a further notebook parameter, e.g. n_boot=500 (repeatable)")
    p.add_argument("--covariates", default="default",
                   help='adjustment set of the models: "default", a list such as '
                   '"age_12plus,female,ses_index", or "default,-ses_index,+school_type"')


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

    s = sub.add_parser("simulate", help="write a synthetic cohort with a known truth",
                       description="Write a synthetic cohort with a known truth (truth.json). "
                       "The shape options make cohorts unlike the demo: fewer tables, "
                       "other covariate names, other regions, absent interventions, a "
                       "prevalent cohort. Options given override those of --shape.")
    s.add_argument("--pupils", type=int, default=None, help="number of pupils (2000)")
    s.add_argument("--seed", type=int, default=1, help="random seed (1)")
    s.add_argument("--out", required=True, help="folder to write the cohort to")
    s.add_argument("--messy", type=float, default=0.0, metavar="RATE",
                   help="inject export errors in this share of rows, recorded in "
                   "injected_errors.csv")
    s.add_argument("--format", choices=["csv", "parquet", "xlsx"], default=None,
                   help="file format of the tables (csv); xlsx is Excel")
    s.add_argument("--shape", metavar="NAME", default=None,
                   help="a preset shape of thuiszit_eval.simulate.SHAPES: tiny, tiny_15, "
                   "required_only_renamed, no_bts, single_region, many_regions, "
                   "no_covariates, prevalent, parquet, excel")
    s.add_argument("--tables", metavar="LIST", default=None,
                   help="tables to write, comma-separated; pupils and episodes always, e.g. "
                   "pupils,episodes,interventions (all six)")
    s.add_argument("--covariates", metavar="MAP", default=None,
                   help="rename the extra covariates, e.g. ses_score=ses_index,"
                   "neighbourhood_type=buurttype; OLD= leaves one out, 'none' leaves both "
                   "out")
    s.add_argument("--regions", type=int, default=None, metavar="N",
                   help="number of samenwerkingsverbanden, 1-99 (8)")
    s.add_argument("--region-prefix", default=None, metavar="PREFIX",
                   help="region ids are PREFIX01, PREFIX02, ... (SWV-)")
    arms = s.add_mutually_exclusive_group()
    arms.add_argument("--arms", metavar="LIST", default=None,
                      help="interventions present, comma-separated, or 'none' (all)")
    arms.add_argument("--without", metavar="LIST", default=None,
                      help="interventions absent, e.g. back_to_school")
    s.add_argument("--observation-start", metavar="DATE", default=None,
                   help="a prevalent cohort: only episodes still running on DATE or "
                   "starting after it (YYYY-MM-DD)")
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

    fd = sub.add_parser("federated-demo", help="the pooled analysis of the demo cohort split "
                        "by samenwerkingsverband, through a mock vantage6 federation")
    fd.add_argument("--min-cell", type=int, default=10, help="minimum cell size (10)")
    fd.add_argument("--group", default="female", help="grouping of the log-rank test (female)")
    fd.add_argument("--workdir", help="folder for the regional cohort folders (a temp folder)")
    fd.set_defaults(func=_federated_demo)

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
