"""From a cohort to one publishable HTML report: run every notebook, render, check privacy.

:func:`build_report` executes the notebooks in ``notebooks/`` in reading order with
papermill — parameters injected (cohort folder, minimum cell size, seed, language), the
notebooks themselves never edited — and renders one HTML page: a front page with the key
figures, then a section per notebook with its figures inline. Executed notebooks sit
beside it. A notebook that fails is named with its cell and cause, its section is marked
as failed, and the rest of the report still renders.

:func:`scan_report` is the privacy check every published report must pass: no pupil or
episode id in any output, and no count below the minimum cell size in a count column.

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
from io import StringIO
from pathlib import Path

import pandas as pd

from . import __version__
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

    @property
    def failed(self) -> list[Section]:
        return [s for s in self.sections if s.status == "failed"]

    @property
    def not_applicable(self) -> list[Section]:
        return [s for s in self.sections if s.status == "not_applicable"]

    def summary(self) -> str:
        lines = [f"Report: {self.html_path}"]
        for s in self.sections:
            state = {"ok": "ok", "not_applicable": f"not applicable — {s.reason}"}.get(
                s.status, f"FAILED — {s.error}")
            lines.append(f"  {s.notebook}: {state}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- key figures


def key_figures(cohort, min_cell: int = 10, lang: str = "nl") -> pd.DataFrame:
    """Median days to return and share back within 4 weeks and 3 months, overall and per
    main intervention, with 95% intervals, and each intervention's adjusted hazard ratio
    of return (time-varying Cox, as in notebook 04); groups with fewer than ``min_cell``
    episodes or events are suppressed."""
    from .outcomes import OutcomeDefinition, survival_table
    from .survival import kaplan_meier

    data = survival_table(cohort, OutcomeDefinition(), group="intervention").data
    data = pd.concat([data.assign(intervention="__all__"), data], ignore_index=True)
    km = kaplan_meier(data, "duration", "event", group="intervention")
    med = km.median().set_index("group")
    at = km.at_times((28, 91)).set_index(["group", "time"])
    adjusted = _adjusted_effects(cohort)
    sizes = data.groupby("intervention").agg(n=("event", "size"), events=("event", lambda e:
                                                                          int((e == 1).sum())))
    from .schema import labels

    names = {**labels("intervention", lang), "none": t("no_intervention", lang),
             "__all__": t("all_episodes", lang)}
    rows = []
    order = ["__all__"] + [g for g in sizes.sort_values("n", ascending=False).index
                           if g != "__all__"]
    for g in order:
        n, ev = int(sizes.loc[g, "n"]), int(sizes.loc[g, "events"])
        row = {t("group", lang): names.get(g, g)}
        if n < min_cell or ev < min_cell:
            row[t("episodes", lang)] = f"<{min_cell}"
            for k in ("median_days", "back_within_4w", "back_within_3m"):
                row[t(k, lang)] = t("suppressed", lang)
        else:
            row[t("episodes", lang)] = f"{n:,}".replace(",", ".") if lang == "nl" else f"{n:,}"
            row[t("median_days", lang)] = _median(med.loc[g], lang)
            for day, k in ((28, "back_within_4w"), (91, "back_within_3m")):
                r = at.loc[(g, day)]
                row[t(k, lang)] = _pct(r["returned"], r["returned_lower"], r["returned_upper"],
                                       lang)
        row[t("adjusted_effect", lang)] = _adjusted_hr(adjusted, g, min_cell, lang)
        rows.append(row)
    return pd.DataFrame(rows)


def _adjusted_effects(cohort) -> pd.DataFrame | None:
    """Time-varying Cox hazard ratios of return per intervention (no immortal time), or
    None when the model cannot be fitted on this cohort."""
    from .regression import fit_cox_models

    try:
        m = fit_cox_models(cohort)
    except Exception:  # too few events, a singular model: the front page says n/a
        return None
    m = m[(m["model"] == "time-varying") & (m["kind"] == "intervention")]
    return m.set_index("term")


def _adjusted_hr(adjusted: pd.DataFrame | None, group: str, min_cell: int, lang: str) -> str:
    if group in ("__all__", "none"):
        return ""
    if adjusted is None or group not in adjusted.index:
        return t("not_available", lang)
    r = adjusted.loc[group]
    counts = pd.to_numeric(pd.Series([r["n_events"], r["n_episodes"]]), errors="coerce")
    if counts.isna().any() or (counts < min_cell).any():  # "<10": suppressed by regression
        return t("suppressed", lang)
    if not finite(r["hr"], r["hr_lower"], r["hr_upper"]):
        return t("not_available", lang)
    s = f"{r['hr']:.2f} ({r['hr_lower']:.2f}–{r['hr_upper']:.2f})"
    return s.replace(".", ",") if lang == "nl" else s


def _median(m: pd.Series, lang: str) -> str:
    """"52 (45–60)"; an upper limit not reached is said in words, never a dash or nan."""
    if not finite(m["quantile"]):
        return t("not_reached", lang)
    lo = f"{m['lower']:.0f}" if finite(m["lower"]) else None
    hi = f"{m['upper']:.0f}" if finite(m["upper"]) else t("not_reached", lang)
    return f"{m['quantile']:.0f}" if lo is None else f"{m['quantile']:.0f} ({lo}–{hi})"


def _pct(p: float, lo: float, hi: float, lang: str) -> str:
    if not finite(p):
        return t("not_available", lang)
    if not finite(lo, hi) or lo == hi:  # a degenerate interval says nothing: leave it out
        s = f"{100 * p:.1f}%"
    else:
        s = f"{100 * p:.1f}% ({100 * lo:.1f}–{100 * hi:.1f})"
    return s.replace(".", ",") if lang == "nl" else s


# --------------------------------------------------------------------------- notebooks


def _run_notebook(nb: Path, out: Path, params: dict) -> Section:
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    declared = pm.inspect_notebook(str(nb))
    inject = {k: v for k, v in params.items() if k in declared}
    title = _title(nbformat.read(nb, as_version=4), nb.stem)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pm.execute_notebook(str(nb), str(out), parameters=inject, progress_bar=False,
                                kernel_name="python3", cwd=str(nb.parent))
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


def _render_body(executed: Path) -> tuple[str, str]:
    """The notebook's outputs and markdown as HTML (code hidden), and its CSS."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    # Drop papermill's injected-parameters cell (it names the analyst's local folder) and
    # its error banner; a traceback never reaches the page (the section says why instead).
    drop = {"injected-parameters", "papermill-error-cell-tag"}
    nb.cells = [c for c in nb.cells if not drop & set(c.metadata.get("tags", []))]
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = [o for o in c.get("outputs", []) if o.get("output_type") != "error"
                         and o.get("name") != "stderr"]
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
    return body_html, css


# --------------------------------------------------------------------------- the page


def _page(cohort, sections: list[Section], figures: pd.DataFrame, css: str, lang: str,
          min_cell: int) -> str:
    esc = html.escape
    toc = "".join(
        f'<li><a href="#sec-{i}">{esc(s.title)}</a> — {t("status_" + s.status, lang)}'
        + (f": {esc(s.reason)}" if s.status == "not_applicable" else "") + "</li>"
        for i, s in enumerate(sections, 1)
    )
    parts = []
    for i, s in enumerate(sections, 1):
        if s.status == "ok":
            inner = s.body
        elif s.status == "not_applicable":
            inner = (f'{s.body}<div class="not-applicable"><strong>'
                     f'{t("status_not_applicable", lang)}</strong>: {esc(s.reason)}</div>')
        else:
            inner = (f'<div class="failed"><strong>{t("section_failed", lang)}</strong>: '
                     f"{esc(s.error or '')}</div>{s.body}")
        parts.append(f'<section id="sec-{i}" class="{s.status}">{inner}</section>')
    answered = sum(s.status == "ok" for s in sections)
    table = figures.to_html(index=False, border=0, classes="key-figures", escape=True)
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{esc(t("report_title", lang))} — {esc(cohort.name)}</title>
{css}
<style>
body {{ max-width: 1100px; margin: 2em auto; font-family: sans-serif; }}
.front {{ border-bottom: 2px solid #888; margin-bottom: 2em; padding-bottom: 1em; }}
table.key-figures {{ border-collapse: collapse; }}
table.key-figures td, table.key-figures th {{ padding: 4px 10px;
  border-bottom: 1px solid #ccc; text-align: left; }}
div.failed {{ background: #fde2e2; border: 1px solid #c00; padding: 1em; }}
div.not-applicable {{ background: #eef3f8; border: 1px solid #89a; padding: 1em; }}
section {{ margin-top: 3em; }}
</style>
</head>
<body>
<div class="front" id="front">
<h1>{esc(t("report_title", lang))}</h1>
<p>{t("cohort", lang)}: <strong>{esc(cohort.name)}</strong> —
{t("follow_up_end", lang)}: {cohort.follow_up_end:%Y-%m-%d}</p>
<h2>{t("key_figures", lang)}</h2>
{table}
<p><em>{esc(t("key_figures_note", lang))}</em></p>
<p><em>{esc(t("adjusted_effect_note", lang))}</em></p>
<h2>{t("contents", lang)}</h2>
<p>{esc(t("answerable", lang, n=answered, total=len(sections)))}</p>
<ol>{toc}</ol>
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
    return Report(path, sections, figures)


# --------------------------------------------------------------------------- privacy scan

#: Column headers that hold counts of pupils or episodes in a rendered table.
COUNT_HEADER = re.compile(
    r"^(n|n_.*|.*_n|count|counts|aantal.*|n risk|at risk|episodes|pupils|leerlingen|"
    r"rows.*|rijen.*|events?|n_events?|n_risk|n_at_risk)$",
    flags=re.I,
)


def scan_report(html_text: str, ids: list[str] | set[str], min_cell: int = 10) -> list[str]:
    """Privacy findings in a rendered report: ids that appear, and counts below
    ``min_cell`` (1 to min_cell − 1) in count columns of its tables. Empty = safe."""
    findings = []
    present = set(re.findall(r"[A-Za-z0-9_-]{4,64}", html_text))
    leaked = sorted(set(ids) & present)
    if leaked:
        findings.append(f"{len(leaked)} pupil/episode ids appear in the report")
    for i, table in enumerate(_tables(html_text)):
        for col in table.columns:
            name = " ".join(map(str, col)) if isinstance(col, tuple) else str(col)
            if not COUNT_HEADER.match(name.strip()):
                continue
            vals = pd.to_numeric(table[col].astype(str).str.replace(r"[.\s]", "", regex=True),
                                 errors="coerce")
            small = vals[(vals >= 1) & (vals < min_cell)]
            if len(small):
                findings.append(f"table {i + 1}, column {name!r}: {len(small)} counts "
                                f"below {min_cell}")
    return findings


def _tables(html_text: str) -> list[pd.DataFrame]:
    try:
        return pd.read_html(StringIO(html_text), flavor="lxml")
    except (ValueError, ImportError):
        return []
