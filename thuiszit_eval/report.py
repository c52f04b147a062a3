"""From a cohort to one publishable HTML report: run every notebook, render, check privacy.

:func:`build_report` executes the notebooks in ``notebooks/`` in reading order with
papermill — parameters injected (cohort folder, minimum cell size, seed, language), the
notebooks themselves never edited — and renders one HTML page: a front page with the key
figures, then a section per notebook with its figures inline. Executed notebooks sit
beside it. A notebook that fails is named with its cell and cause, its section is marked
as failed, and the rest of the report still renders.

:func:`privacy_check` runs after the page is written and fails closed: it removes local
paths from the executed notebooks and scans the page, every CSV and the notebooks
(:mod:`thuiszit_eval.disclosure`); any finding marks the report "not publishable" (a banner
on the page, ``privacy_findings.txt``, :attr:`Report.publishable` false).

Example
-------
>>> from thuiszit_eval.report import notebook_paths
>>> notebook_paths()[0].name
'00_start_here.ipynb'
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import __version__
from . import formatting as fmt
from .disclosure import COUNT_HEADER, scan_report  # noqa: F401  (callers import them here)
from .estimability import finite, quiet
from .messages import t

#: Parameters the report passes to every notebook that declares them.
REPORT_PARAMETERS = ("cohort_folder", "min_cell", "seed", "lang", "covariates")


def notebook_dir() -> Path:
    """The ``notebooks/`` folder of this checkout (installed editable, like data_schema/)."""
    return Path(__file__).resolve().parent.parent / "notebooks"


#: Notebooks not part of a single cohort's report: 13 analyses a federation of regional
#: cohorts (the demo's mock federation), not the cohort the report is about.
NOT_IN_REPORT = ("13_multi_region.ipynb",)


def notebook_paths() -> list[Path]:
    """The report's notebooks in reading order (``NN_name.ipynb``)."""
    return sorted(p for p in notebook_dir().glob("[0-9][0-9]_*.ipynb")
                  if p.name not in NOT_IN_REPORT)


#: Exceptions by which a notebook says its question does not apply to this cohort, or that
#: the cohort cannot support the estimate (thuiszit_eval.estimability): the section is then
#: "not applicable" with that one sentence, not failed.
NOT_APPLICABLE_ERRORS = ("NotApplicable", "NotEstimable", "CovariateError")


@dataclass
class Section:
    """One notebook's part of the report: ``status`` is ``ok``, ``not_applicable`` (with
    the ``reason`` in the report's language) or ``failed`` (``error``: one sentence)."""

    notebook: str
    title: str
    ok: bool
    error: str | None = None
    body: str = ""
    executed: Path | None = None
    status: str = "ok"
    reason: str = ""


@dataclass
class Report:
    """What :func:`build_report` made: the HTML page, the sections, the key figures."""

    html_path: Path
    sections: list[Section] = field(default_factory=list)
    key_figures: pd.DataFrame | None = None
    #: what the privacy scan found in the written report (empty: it may be published)
    findings: list[str] = field(default_factory=list)

    @property
    def publishable(self) -> bool:
        """Whether the report passed the privacy scan (:mod:`thuiszit_eval.disclosure`)."""
        return not self.findings

    @property
    def failed(self) -> list[Section]:
        return [s for s in self.sections if s.status == "failed"]

    @property
    def not_applicable(self) -> list[Section]:
        return [s for s in self.sections if s.status == "not_applicable"]

    def summary(self, every_section: bool = True) -> str:
        """The report's sections, one line each (``every_section=False``: a count, then
        only the sections not answered, with their reason — what the terminal shows)."""
        lines = [f"Report: {self.html_path.resolve()}"]
        if not every_section:
            n = {k: sum(s.status == k for s in self.sections)
                 for k in ("ok", "not_applicable", "failed")}
            lines.append(f"{len(self.sections)} sections: {n['ok']} answered, "
                         f"{n['not_applicable']} not applicable, {n['failed']} failed")
        for s in self.sections:
            if s.status == "ok" and not every_section:
                continue
            state = {"ok": "ok", "not_applicable": f"not applicable — {s.reason}"}.get(
                s.status, f"FAILED — {s.error}")
            lines.append(f"  {s.notebook}: {state}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- key figures


def key_figures(cohort, min_cell: int = 10, lang: str = "nl") -> pd.DataFrame:
    """The front page's unadjusted figures, overall and per main intervention: episodes,
    median days to return (Kaplan-Meier) and the share back within 4 weeks and 3 months
    (Aalen-Johansen cumulative incidence of return, competing outcomes not counted as "still
    at home"), with 95% intervals, and each intervention's adjusted hazard ratio of return
    (time-varying Cox, as in notebook 04).

    Groups with fewer than ``min_cell`` episodes or returns are suppressed, and a share is
    shown only where the returns by that day and the rest of the group both number at least
    ``min_cell`` (else the share and the group size give a small count away).

    ``attrs["adjusted"]`` holds the adjusted answers as one plain sentence per intervention
    and ``attrs["caveat"]`` the immortal-time caveat for the unadjusted table, both in
    ``lang``: the front page shows them (see :func:`_page`).

    Example
    -------
    >>> from thuiszit_eval.cohort import Cohort
    >>> from thuiszit_eval.schema import schema_dir
    >>> kf = key_figures(Cohort.load(schema_dir() / "example"), min_cell=1, lang="en")
    >>> list(kf.columns)[:3]
    ['Group', 'Episodes', 'Median days to return']
    """
    from .outcomes import OutcomeDefinition, survival_table
    from .schema import labels
    from .survival import aalen_johansen, kaplan_meier

    data = survival_table(cohort, OutcomeDefinition(), group="intervention").data
    # An explicit usual_care record is the same group as no intervention: one name, one row.
    data["intervention"] = data["intervention"].replace({"usual_care": "none"})
    data = pd.concat([data.assign(intervention="__all__"), data], ignore_index=True)
    entry = "entry" if "entry" in data.columns else None
    km = kaplan_meier(data, "duration", "event", group="intervention", entry=entry)
    med = km.median().set_index("group")
    aj = aalen_johansen(data, "duration", "event", group="intervention", entry=entry)
    at = aj.at_times(DAYS, state=1).set_index(["group", "time"])
    adjusted = _adjusted_effects(cohort)
    returned = data["event"] == 1
    sizes = data.assign(returned=returned).groupby("intervention").agg(
        n=("event", "size"), events=("returned", "sum"))
    by_day = {day: (returned & (data["duration"] <= day)).groupby(data["intervention"]).sum()
              for day in DAYS}

    names = {**labels("intervention", lang), "none": t("no_intervention", lang),
             "__all__": t("all_episodes", lang)}
    order = ["__all__"] + [g for g in sizes.sort_values("n", ascending=False, kind="stable")
                           .index if g != "__all__"]
    hidden = _hidden_counts(sizes["n"].drop("__all__"), min_cell)
    rows, shown = [], {}
    for g in order:
        n, ev = int(sizes.loc[g, "n"]), int(sizes.loc[g, "events"])
        row = {t("group", lang): names.get(g, g)}
        row[t("episodes", lang)] = (f"<{min_cell}" if n < min_cell else
                                    t("share_not_shown", lang) if g in hidden else
                                    fmt.integer(n, lang))
        if n < min_cell or ev < min_cell:
            for k in ("median_days", *DAY_KEYS.values()):
                row[t(k, lang)] = t("suppressed", lang)
        else:
            row[t("median_days", lang)] = _median(med.loc[g], lang)
            shown[g] = med.loc[g, "quantile"]
            for day, k in DAY_KEYS.items():
                r = at.loc[(g, float(day))]
                k_day = int(by_day[day][g])
                counts = (k_day, n - k_day, round(r["pstate"] * n), n - round(r["pstate"] * n))
                row[t(k, lang)] = (t("share_not_shown", lang) if min(counts) < min_cell
                                   else _pct(r["pstate"], r["lower"], r["upper"], lang))
        row[t("adjusted_effect", lang)] = (t("reference_group", lang) if g == "none" else
                                           _adjusted_hr(adjusted, g, min_cell, lang))
        rows.append(row)
    out = pd.DataFrame(rows)
    interventions = [g for g in order if g not in ("__all__", "none")]
    # No model at all (too few returns, no intervention): one sentence says so, not one per
    # intervention.
    out.attrs["adjusted"] = [] if adjusted is None else [
        _adjusted_sentence(adjusted, g, names.get(g, g), min_cell, lang) for g in interventions]
    out.attrs["caveat"] = _caveat(shown, interventions, names, lang)
    return out


def _hidden_counts(n: pd.Series, min_cell: int) -> set[str]:
    """Groups whose count must be hidden although it is at least ``min_cell``: the groups
    partition the episodes, so the total minus the shown counts gives the suppressed ones
    away when those add up to fewer than ``min_cell``; the smallest shown counts are hidden
    as well until the hidden ones add up to ``min_cell`` or more (secondary suppression).

    >>> sorted(_hidden_counts(pd.Series({"a": 11, "b": 4, "c": 50}), 10))
    ['a']
    >>> sorted(_hidden_counts(pd.Series({"a": 11, "b": 12, "c": 50}), 10))
    []
    """
    small = n[n < min_cell]
    total = int(small.sum())
    hidden: set[str] = set()
    for g, k in n[n >= min_cell].sort_values(kind="stable").items():
        if total == 0 or total >= min_cell:
            break
        hidden.add(g)
        total += int(k)
    return hidden


#: The days of "back within": 4 weeks and 3 months.
DAYS = (28, 91)
DAY_KEYS = {28: "back_within_4w", 91: "back_within_3m"}


def _adjusted_effects(cohort) -> pd.DataFrame | None:
    """Time-varying Cox hazard ratios of return per intervention (no immortal time), or
    None when the model cannot be fitted on this cohort."""
    from .regression import fit_cox_models

    try:
        m = fit_cox_models(cohort)
    except Exception:  # too few events, a singular model: the front page says so in words
        return None
    m = m[(m["model"] == "time-varying") & (m["kind"] == "intervention")]
    return m.set_index("term")


def _adjusted_row(adjusted: pd.DataFrame | None, group: str, min_cell: int
                  ) -> pd.Series | str:
    """The model row of ``group``, or why there is none: "suppressed" / "not_available"."""
    if adjusted is None or group not in adjusted.index:
        return "not_available"
    r = adjusted.loc[group]
    counts = pd.to_numeric(pd.Series([r["n_events"], r["n_episodes"]]), errors="coerce")
    if counts.isna().any() or (counts < min_cell).any():  # "<10": suppressed by regression
        return "suppressed"
    if not finite(r["hr"], r["hr_lower"], r["hr_upper"]):
        return "not_available"
    return r


def _adjusted_hr(adjusted: pd.DataFrame | None, group: str, min_cell: int, lang: str) -> str:
    if group in ("__all__", "none"):
        return ""
    r = _adjusted_row(adjusted, group, min_cell)
    if isinstance(r, str):
        return t(r, lang)
    return fmt.estimate_with_interval(r["hr"], r["hr_lower"], r["hr_upper"], lang, 2)


def _adjusted_sentence(adjusted: pd.DataFrame | None, group: str, name: str, min_cell: int,
                       lang: str) -> str:
    """One plain sentence: how much faster pupils with ``group`` return than comparable
    pupils without it, with the interval; faster/slower only where the interval says so."""
    r = _adjusted_row(adjusted, group, min_cell)
    if isinstance(r, str):
        return t(f"key_adjusted_{r}", lang, group=name)
    key = ("key_adjusted_faster" if r["hr_lower"] > 1 else
           "key_adjusted_slower" if r["hr_upper"] < 1 else "key_adjusted_unclear")
    return t(key, lang, group=name, hr=fmt.number(r["hr"], lang, 2),
             lo=fmt.number(r["hr_lower"], lang, 2), hi=fmt.number(r["hr_upper"], lang, 2))


def _caveat(medians: dict[str, float], interventions: list[str], names: dict[str, str],
            lang: str) -> str:
    """The immortal-time caveat beside the unadjusted table, with this cohort's example: the
    largest intervention whose median is longer than the no-intervention group's."""
    example = ""
    if finite(medians.get("none", float("nan"))):
        for g in interventions:
            if finite(medians.get(g, float("nan"))) and medians[g] > medians["none"]:
                example = t("immortal_time_example", lang, group=names.get(g, g),
                            with_days=fmt.integer(medians[g], lang),
                            without_days=fmt.integer(medians["none"], lang),
                            reference=names["none"])
                break
    return t("immortal_time_caveat", lang, example=example)


def _median(m: pd.Series, lang: str) -> str:
    """"52 (45–60)"; an upper limit not reached is said in words, never a dash or nan."""
    if not finite(m["quantile"]):
        return t("not_reached", lang)
    est = fmt.integer(m["quantile"], lang)
    if not finite(m["lower"]):
        return est
    hi = fmt.integer(m["upper"], lang) if finite(m["upper"]) else t("not_reached", lang)
    return f"{est} ({fmt.integer(m['lower'], lang)}–{hi})"


def _pct(p: float, lo: float, hi: float, lang: str) -> str:
    """"21,2% (19,5%–22,9%)"; a degenerate interval says nothing and is left out."""
    if not finite(p):
        return t("not_available", lang)
    return fmt.estimate_with_interval(p, lo, hi, lang, 1, pct=True)


# --------------------------------------------------------------------------- notebooks


#: Times a notebook is started again when its kernel could not be started or stopped
#: responding before any cell failed (with kernels starting in parallel processes, two can
#: pick the same free TCP port: "ZMQError: Address already in use", a known race of
#: jupyter_client). A cell that raises is never retried.
KERNEL_RETRIES = 2


def _execute(nb: Path, out: Path, inject: dict) -> None:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    for attempt in range(KERNEL_RETRIES + 1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pm.execute_notebook(str(nb), str(out), parameters=inject,
                                    progress_bar=False, kernel_name="python3",
                                    cwd=str(nb.parent))
            return
        except PapermillExecutionError:
            raise
        except Exception:  # the kernel, not the notebook: start it again
            if attempt == KERNEL_RETRIES:
                raise


def _run_notebook(nb: Path, out: Path, params: dict) -> Section:
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    declared = pm.inspect_notebook(str(nb))
    inject = {k: v for k, v in params.items() if k in declared}
    title = _title(nbformat.read(nb, as_version=4), nb.stem)
    try:
        _execute(nb, out, inject)
        # The executed notebook carries the title in the report's language.
        title = _title(nbformat.read(out, as_version=4), title)
        return Section(nb.name, title, True, executed=out)
    except PapermillExecutionError as exc:
        title = _title(nbformat.read(out, as_version=4), title) if out.exists() else title
        if exc.ename in NOT_APPLICABLE_ERRORS:
            return Section(nb.name, title, True, executed=out, status="not_applicable",
                           reason=_one_line(exc.evalue))
        err = t("section_failed_cause", params.get("lang", "nl"), cell=exc.exec_count,
                cause=exc.ename)
        return Section(nb.name, title, False, error=err, executed=out, status="failed")
    except Exception as exc:  # kernel died, notebook unreadable: still render the rest
        err = t("section_failed_cause", params.get("lang", "nl"), cell="–",
                cause=type(exc).__name__)
        return Section(nb.name, title, False, error=err, status="failed",
                       executed=out if out.exists() else None)


@contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    """Set ``env`` in this process (the kernels inherit it: THUISZIT_EVAL_LANG, so the
    reason of a NotEstimable is in the report's language; the shared cohort) and restore
    every variable afterwards, so nothing else in this process changes."""
    before = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _kernel_env(lang: str, jobs: int, shared: dict[str, str]) -> dict[str, str]:
    """What the notebook kernels need in their environment: the language, where the shared
    cohort is, and -- with several notebooks at once -- their share of the cores, so two
    kernels on two cores do not each start two BLAS threads and two bootstrap workers
    (bootstraps give the same numbers whatever the number of workers). A limit the user
    set already is kept."""
    env = {"THUISZIT_EVAL_LANG": lang, **shared}
    if jobs > 1:
        per = str(max(1, (os.cpu_count() or 1) // jobs))
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "LOKY_MAX_CPU_COUNT"):
            if var not in os.environ:
                env[var] = per
    return env


@contextmanager
def _stderr_to(path: Path | None) -> Iterator[None]:
    """Send this process's stderr (file descriptor 2, which the kernels inherit: their
    transport warnings, numeric warnings) to ``path``; None leaves it alone."""
    if path is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "a", encoding="utf-8") as f:
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _section(nb: Path, out: Path, params: dict, lang: str) -> tuple[Section, str]:
    """Run one notebook and render its section: ``(section, its CSS)``."""
    sec = _run_notebook(nb, out, params)
    css = ""
    if sec.executed is not None and sec.executed.exists():
        try:
            sec.body, css = _render_body(sec.executed)
        except Exception as exc:  # rendering must not stop the report
            sec.ok, sec.status = False, "failed"
            sec.error = t("section_failed_cause", lang, cell="–", cause=type(exc).__name__)
    return sec, css


def _worker_init(env: dict[str, str], log: str | None) -> None:
    """A pool worker: the kernels' environment, and its stderr (fd 2, which its kernels
    inherit) to the log -- each worker redirects its own, the parent's stays the terminal."""
    os.environ.update(env)
    if log is not None:
        f = open(log, "a", encoding="utf-8")  # noqa: SIM115 - open for the worker's life
        sys.stderr.flush()
        os.dup2(f.fileno(), 2)


def _expected_seconds(nb: Path) -> float:
    """How long the notebook took when its outputs were last stored (papermill's metadata
    in the source notebook); 0 when unknown."""
    try:
        meta = json.loads(nb.read_text(encoding="utf-8")).get("metadata", {})
        return float(meta.get("papermill", {}).get("duration") or 0.0)
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.0


def _run_notebooks(nbs: list[Path], folder: Path, params: dict, lang: str, jobs: int,
                   env: dict[str, str], log: Path | None, bar,
                   meanwhile=None) -> list[tuple[Section, str]]:
    """Every notebook's ``(section, css)`` in the order of ``nbs``; ``jobs`` at a time in
    a pool of processes (one kernel each), else one by one in this process. ``meanwhile``
    (no arguments) runs in this process while the pool works."""
    if jobs <= 1:
        if meanwhile is not None:
            meanwhile()
        out = []
        for nb in nbs:
            with _stderr_to(log), _environ(env):
                out.append(_section(nb, folder / nb.name, params, lang))
            bar.update(1)
        return out
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: a fresh interpreter per worker, not a fork of this one (threads, open sockets)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(
        "spawn"), initializer=_worker_init, initargs=(env, None if log is None else str(log)))
    results: list[tuple[Section, str] | None] = [None] * len(nbs)
    # longest first, so a long notebook does not start last and run on alone at the end
    order = sorted(range(len(nbs)), key=lambda i: -_expected_seconds(nbs[i]))
    try:
        todo = {pool.submit(_section, nbs[i], folder / nbs[i].name, params, lang): i
                for i in order}
        if meanwhile is not None:
            meanwhile()
        for fut in as_completed(todo):
            i = todo[fut]
            try:
                results[i] = fut.result()
            except Exception as exc:  # the worker itself died: still render the rest
                err = t("section_failed_cause", lang, cell="–", cause=type(exc).__name__)
                results[i] = (Section(nbs[i].name, nbs[i].stem, False, error=err,
                                      status="failed"), "")
            bar.update(1)
    except BaseException:  # Ctrl-C: do not start the notebooks still waiting
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return [r for r in results if r is not None]


def _one_line(text: str, limit: int = 400) -> str:
    """The first line of an exception message, without local paths, at most ``limit``."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    line = re.sub(r"(?:[A-Za-z]:)?[/\\][^\s'\"]+", "…", line)
    return line[:limit]


def _title(nb, fallback: str) -> str:
    """The first level-1 heading: in a markdown cell, or in Markdown a cell displayed (the
    notebooks show their narrative with ``say(...)`` in the report's language)."""
    for cell in nb.cells:
        texts = [cell.source] if cell.cell_type == "markdown" else [
            "".join(o.get("data", {}).get("text/markdown", ""))
            for o in cell.get("outputs", [])
        ]
        for text in texts:
            m = re.search(r"^#\s+(.+)$", text, flags=re.M)
            if m:
                return m.group(1).strip()
    return fallback


def _render_body(executed: Path, lang: str | None = None) -> tuple[str, str]:
    """The notebook's outputs and markdown as HTML (code hidden), and its CSS.

    Every image gets alt text in the report's language: the figure's own description (the
    kernel's :func:`thuiszit_eval.formatting.describe_figures` puts it in the output's
    metadata), else the heading it stands under. Tables get a class by their width, so the
    page can fit wide ones (see :func:`_page`). ``lang``: the report's language; by default
    the notebook's own ``lang`` parameter."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    lang = fmt.report_lang(lang or nb.metadata.get("papermill", {}).get("parameters", {})
                           .get("lang"))
    # Drop papermill's injected-parameters cell (it names the analyst's local folder) and
    # its error banner; a traceback never reaches the page (the section says why instead).
    drop = {"injected-parameters", "papermill-error-cell-tag"}
    nb.cells = [c for c in nb.cells if not drop & set(c.metadata.get("tags", []))]
    alts: dict[str, str] = {}
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = [o for o in c.get("outputs", []) if o.get("output_type") != "error"
                         and o.get("name") != "stderr"]
            for o in c.outputs:
                png = o.get("data", {}).get("image/png")
                alt = o.get("metadata", {}).get("image/png", {}).get("alt")
                if png and alt:
                    alts[_png_key(png)] = str(alt)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    page, _ = exporter.from_notebook_node(nb)
    css = "\n".join(re.findall(r"<style[^>]*>.*?</style>", page, flags=re.S))
    body = re.search(r"<body[^>]*>(.*)</body>", page, flags=re.S)
    body_html = body.group(1) if body else page
    # No remote scripts (MathJax, require.js): the report must work offline.
    body_html = re.sub(r"<script[^>]*src=\"https?://[^\"]*\"[^>]*>\s*</script>", "", body_html)
    return _describe_images_and_tables(body_html, alts, lang), css


def _png_key(data: str) -> str:
    """An image's identity in the page: its base64 data without line breaks."""
    return re.sub(r"\s+", "", data)


def _describe_images_and_tables(body_html: str, alts: dict[str, str], lang: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body_html, "html.parser")
    for img in soup.find_all("img"):
        src = img.get("src", "")
        alt = alts.get(_png_key(src.split(",", 1)[1])) if src.startswith("data:") else None
        if not alt:
            heading = img.find_previous(["h1", "h2", "h3", "h4"])
            text = heading.get_text(" ", strip=True).rstrip("¶").strip() if heading else ""
            # "…maken?." reads badly: the heading's own end mark ends the sentence
            alt = re.sub(r"([.?!:])\.$", r"\1", t("figure_alt_heading", lang, heading=text)
                         ) if text else ""
        img["alt"] = alt  # "" is filled with the section's title by _page
    for table in soup.find_all("table"):
        width = max((len(tr.find_all(["th", "td"])) for tr in table.find_all("tr")),
                    default=0)
        if width >= WIDE_TABLE:
            table["class"] = [*table.get("class", []), "widest" if width >= WIDEST_TABLE else
                              "very-wide" if width >= VERY_WIDE_TABLE else "wide"]
    return str(soup)


#: Tables with this many columns get a smaller font, and from VERY_WIDE_TABLE a smaller one
#: still, so that they fit the page (1280 px) without a scroll area that hides columns; from
#: WIDEST_TABLE a header may also break inside a word (else words stay whole).
WIDE_TABLE, VERY_WIDE_TABLE, WIDEST_TABLE = 7, 11, 15

#: One font for the whole page: the front page and the notebooks' sections alike.
FONT = ("system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, "
        "'Liberation Sans', sans-serif")

#: The page's own style, after nbconvert's: one font; outputs are never scroll boxes that
#: hide columns (nbconvert's lab CSS gives output areas overflow: auto) — wide tables wrap
#: their headers and get a smaller font instead.
PAGE_CSS = f"""
:root {{ --report-font: {FONT}; --jp-content-font-family: var(--report-font);
  --jp-ui-font-family: var(--report-font); }}
body {{ max-width: 1100px; margin: 2em auto; padding: 0 1em; box-sizing: border-box;
  font-family: var(--report-font); overflow-wrap: break-word; }}
.jp-RenderedHTMLCommon, .jp-RenderedMarkdown {{ font-family: var(--report-font); }}
.jp-OutputArea-output, .jp-OutputArea-child, .jp-MarkdownOutput.jp-RenderedHTMLCommon,
.jp-Cell-outputArea {{ overflow: visible; }}
.jp-RenderedHTMLCommon table, table.key-figures {{ table-layout: auto; max-width: 100%;
  border-collapse: collapse; }}
.jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon td {{ overflow-wrap: break-word; }}
.jp-RenderedHTMLCommon table.wide {{ font-size: 0.8em; }}
.jp-RenderedHTMLCommon table.wide td, .jp-RenderedHTMLCommon table.wide th {{
  padding: 0.3em; }}
.jp-RenderedHTMLCommon table.very-wide {{ font-size: 0.7em; }}
.jp-RenderedHTMLCommon table.very-wide td, .jp-RenderedHTMLCommon table.very-wide th {{
  padding: 0.2em; }}
.jp-RenderedHTMLCommon table.widest {{ font-size: 0.65em; }}
.jp-RenderedHTMLCommon table.widest td, .jp-RenderedHTMLCommon table.widest th {{
  padding: 0.15em; overflow-wrap: anywhere; }}
@media (max-width: 1200px) {{
  .jp-RenderedHTMLCommon table.wide td, .jp-RenderedHTMLCommon table.wide th,
  .jp-RenderedHTMLCommon table.very-wide td, .jp-RenderedHTMLCommon table.very-wide th {{
    overflow-wrap: anywhere; }}
}}
img {{ max-width: 100%; height: auto; }}
.front {{ border-bottom: 2px solid #888; margin-bottom: 2em; padding-bottom: 1em; }}
table.key-figures td, table.key-figures th {{ padding: 4px 10px;
  border-bottom: 1px solid #ccc; text-align: left; vertical-align: top; }}
ul.answers li {{ margin-bottom: 0.4em; }}
p.caveat {{ background: #fff8e1; border-left: 4px solid #e0a800; padding: 0.6em 1em; }}
ul.toc {{ list-style: none; padding-left: 0; }}
ul.toc li {{ margin-bottom: 0.3em; }}
div.failed {{ background: #fde2e2; border: 1px solid #c00; padding: 1em; }}
div.not-applicable {{ background: #eef3f8; border: 1px solid #89a; padding: 1em; }}
section {{ margin-top: 3em; }}
"""


# --------------------------------------------------------------------------- the page


def _fill_alt(body: str, title: str, lang: str) -> str:
    """Images still without alt text (no figure description, no heading above them) are
    described by their section's title; nbconvert's English placeholder never stays."""
    alt = html.escape(t("figure_alt_section", lang, title=title), quote=True)
    body = body.replace('alt="No description has been provided for this image"', 'alt=""')
    return body.replace('alt=""', f'alt="{alt}"')


def _page(cohort, sections: list[Section], figures: pd.DataFrame, css: str, lang: str,
          min_cell: int) -> str:
    from .describe import cohort_name

    esc = html.escape
    name = cohort_name(cohort, lang)  # a simulated cohort is named in the report's language
    # The titles carry their notebook's number ("03 — ..."): a plain list, not a second
    # numbering.
    toc = "".join(
        f'<li><a href="#sec-{i}">{esc(s.title)}</a> — {t("status_" + s.status, lang)}'
        + (f": {esc(s.reason)}" if s.status == "not_applicable" else "") + "</li>"
        for i, s in enumerate(sections, 1)
    )
    parts = []
    for i, s in enumerate(sections, 1):
        body = _fill_alt(s.body, s.title, lang)
        if s.status == "ok":
            inner = body
        elif s.status == "not_applicable":
            inner = (f'{body}<div class="not-applicable"><strong>'
                     f'{t("status_not_applicable", lang)}</strong>: {esc(s.reason)}</div>')
        else:
            inner = (f'<div class="failed"><strong>{t("section_failed", lang)}</strong>: '
                     f"{esc(s.error or '')}</div>{body}")
        parts.append(f'<section id="sec-{i}" class="{s.status}">{inner}</section>')
    answered = sum(s.status == "ok" for s in sections)
    table = figures.to_html(index=False, border=0, classes="key-figures", escape=True,
                            na_rep="")
    adjusted = figures.attrs.get("adjusted") or [t("key_adjusted_none", lang)]
    answers = "".join(f"<li>{esc(a)}</li>" for a in adjusted)
    caveat = figures.attrs.get("caveat", "")
    caveat_html = f'<p class="caveat">{esc(caveat)}</p>' if caveat else ""
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(t("report_title", lang))} — {esc(name)}</title>
{css}
<style>
{PAGE_CSS}
</style>
</head>
<body>
<div class="front" id="front">
<h1>{esc(t("report_title", lang))}</h1>
<p>{t("cohort", lang)}: <strong>{esc(name)}</strong> —
{t("follow_up_end", lang)}: {esc(fmt.date(cohort.follow_up_end, lang))}</p>
<h2>{esc(t("key_figures", lang))}</h2>
<h3>{esc(t("key_adjusted_heading", lang))}</h3>
<ul class="answers">{answers}</ul>
<p><em>{esc(t("adjusted_effect_note", lang))}</em></p>
<h3>{esc(t("key_unadjusted_heading", lang))}</h3>
{caveat_html}
{table}
<p><em>{esc(t("key_figures_note", lang, min_cell=min_cell))}</em></p>
<h2>{t("contents", lang)}</h2>
<p>{esc(t("answerable", lang, n=answered, total=len(sections)))}</p>
<ul class="toc">{toc}</ul>
<p><small>{esc(t("generated_with", lang, version=__version__, min_cell=min_cell))}</small></p>
</div>
{"".join(parts)}
</body>
</html>
"""


def build_report(
    cohort_folder: str | Path,
    out: str | Path,
    lang: str = "nl",
    min_cell: int = 10,
    seed: int = 1,
    notebooks: list[Path] | None = None,
    progress: bool = True,
    covariates: str = "default",
    verbose: bool = False,
    parameters: dict[str, object] | None = None,
    jobs: int | None = None,
) -> Report:
    """Run every notebook on the cohort and write ``out/report.html``.

    ``covariates`` is the adjustment set of the models (notebooks 04, 06, 07): "default"
    or a specification as in :func:`thuiszit_eval.covariates.parse_spec`. The kernels'
    own chatter goes to ``out/notebooks/kernels.log`` unless ``verbose``. ``parameters``
    are further notebook parameters (e.g. ``{"n_boot": 500}``), given to the notebooks that
    declare them. ``jobs`` notebooks run at a time, each in its own process and kernel
    (default: one per core); the sections keep the reading order whatever finishes first.
    The kernels share the cohort loaded here (:func:`thuiszit_eval.demo.shared_cohort`).

    Executed notebooks go to ``out/notebooks/``; the key figures also to
    ``out/key_figures.csv``. Raises :class:`~thuiszit_eval.reading.CohortError` when the
    cohort cannot be read at all; a failing notebook only marks its section.
    """
    from tqdm.auto import tqdm

    from .cohort import Cohort
    from .demo import folder_key, shared_cohort

    t("report_title", lang)  # fail early on an unknown language
    cohort_folder = Path(cohort_folder).resolve()
    key = folder_key(cohort_folder)  # of the files as they are before reading them
    cohort = Cohort.load(cohort_folder)
    out = Path(out)
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    params = {"cohort_folder": str(cohort_folder), "min_cell": min_cell, "seed": seed,
              "lang": lang, "covariates": covariates, **(parameters or {})}
    nbs = notebooks if notebooks is not None else notebook_paths()
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(nbs)))
    log = None if verbose else out / "notebooks" / "kernels.log"
    front: dict[str, pd.DataFrame] = {}

    def key_figures_meanwhile() -> None:  # this process's work while the kernels run
        with quiet():
            front["figures"] = key_figures(cohort, min_cell, lang)

    with shared_cohort(cohort, key, out) as shared, tqdm(
            total=len(nbs), desc="notebooks", unit="notebook", disable=not progress,
            file=sys.stdout) as bar:
        done = _run_notebooks(nbs, out / "notebooks", params, lang, jobs,
                              _kernel_env(lang, jobs, shared), log, bar,
                              meanwhile=key_figures_meanwhile)
    figures = front["figures"]
    figures.to_csv(out / "key_figures.csv", index=False)
    sections: list[Section] = [sec for sec, _ in done]
    css = next((c for _, c in done if c), "")
    page = _page(cohort, sections, figures, css, lang, min_cell)
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    findings = privacy_check(out, cohort, lang, min_cell)
    return Report(path, sections, figures, findings)


# --------------------------------------------------------------------------- privacy scan

#: The file beside report.html that lists what the privacy scan found.
FINDINGS_FILE = "privacy_findings.txt"


def cohort_ids(cohort) -> set[str]:
    """Every pupil, episode, school and intervention id of the cohort: none may appear in
    anything the report writes."""
    ids: set[str] = set()
    for table, cols in (("pupils", ("pupil_id", "school_id")), ("episodes", ("episode_id",)),
                        ("interventions", ("intervention_id",))):
        df = getattr(cohort, table, None)
        for c in cols if df is not None else ():
            if c in df:
                ids |= {str(v) for v in df[c].dropna()}
    return ids


def privacy_check(out: str | Path, cohort, lang: str = "nl", min_cell: int = 10) -> list[str]:
    """The report's privacy gate, run on what :func:`build_report` wrote to ``out``.

    Local paths are removed from the executed notebooks (papermill records the cohort
    folder); then the page, every CSV and the notebooks are scanned
    (:func:`thuiszit_eval.disclosure.scan_outputs`). Findings are written to
    ``out/privacy_findings.txt`` and a "not publishable" banner in the report's language is
    put at the top of the page; a clean report gets one line saying it passed the scan.
    Returns the findings (empty: publishable).
    """
    from .disclosure import scan_outputs, scrub_log, scrub_notebook

    out = Path(out)
    # the cohort, the output, this checkout and the Python environment (in tracebacks)
    paths = [str(Path(cohort.folder).resolve()) if getattr(cohort, "folder", None) else "",
             str(out.resolve()), str(Path.home()), str(notebook_dir().parent), sys.prefix,
             sys.base_prefix]
    paths = [p for p in paths if len(p) > 1]  # never "/" itself
    for nb in sorted((out / "notebooks").glob("*.ipynb")):
        scrub_notebook(nb, paths)
    for log in sorted((out / "notebooks").glob("*.log")):  # kernels.log: warnings name files
        scrub_log(log, paths)
    findings = scan_outputs(out, cohort_ids(cohort), min_cell, local_paths=paths)
    report = out / FINDINGS_FILE
    if findings:
        report.write_text("\n".join(findings) + "\n", encoding="utf-8")
        note = (f'<div class="privacy not-publishable" role="alert" style="background:#fde2e2;'
                f'border:2px solid #c00;padding:1em;font-weight:bold">'
                f'{html.escape(t("privacy.not_publishable", lang, n=len(findings)))}</div>')
    else:
        report.unlink(missing_ok=True)
        note = (f'<p class="privacy passed">'
                f'{html.escape(t("privacy.passed", lang, min_cell=min_cell))}</p>')
    page_path = out / "report.html"
    if page_path.exists():
        page = page_path.read_text(encoding="utf-8")
        page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + "\n" + note, page, count=1)
        page_path.write_text(page, encoding="utf-8")
    return findings
