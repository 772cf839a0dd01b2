"""PNG, PDF and TXT files of histogram results, kept under ADQM_TMP.

Plots of outliers and `always_show` histograms are drawn while the
comparison runs. Any other plot is drawn when it is first requested, by
reading the histogram from the files again.
"""

import logging
import re
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from comparisons.artifact_text import write_result_text
from comparisons.inputs import InputError, open_inputs
from comparisons.pipeline import HistogramJob, Scored, rule_options, score_job
from comparisons.plotting import PlotInfo, draw
from runs.rootio import RootReadError

logger = logging.getLogger(__name__)

KINDS = ("png", "pdf", "txt")
CONTENT_TYPES = {"png": "image/png", "pdf": "application/pdf", "txt": "text/plain; charset=utf-8"}


class ArtifactError(Exception):
    """An artifact that cannot be drawn; the message names the histogram and the run."""


def _safe_name(text):
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", text).strip("_") or "histogram"


def relative_path(row, kind):
    return f"comparison-{row.comparison_id}/{_safe_name(row.histogram)}__{row.comparator}.{kind}"


def absolute_path(relative):
    return Path(settings.ADQM_TMP) / relative


def _run_label(run):
    return f"{run.number} {run.dataset}".strip()


def plot_info(comparison, row, job_plot_options, references):
    options = job_plot_options or {}
    return PlotInfo(
        path=row.histogram,
        subsystem=comparison.subsystem.name,
        data_label=_run_label(comparison.data_run),
        reference_labels=[_run_label(run) for run in references],
        comparator=row.comparator,
        plot_title=options.get("plot_title"),
        xaxis_title=options.get("xaxis_title"),
        yaxis_title=options.get("yaxis_title"),
        logx=bool(options.get("logx")),
        logy=bool(options.get("logy")),
        xlabels=options.get("xlabels"),
        ylabels=options.get("ylabels"),
        pull_cap=row.thresholds.get("pull_cap"),
    )


def text_fields(comparison, row, references, data_file=""):
    return dict(
        subsystem=comparison.subsystem.name,
        histogram=row.histogram,
        data_run=_run_label(comparison.data_run),
        data_file=data_file,
        reference_runs=[_run_label(run) for run in references],
        comparator=row.comparator,
        chi2=row.chi2,
        max_pull=row.max_pull,
        ks=row.ks,
        p_value=row.p_value,
        n_used=row.n_used,
        thresholds=row.thresholds,
        entries_data=row.entries_data,
        entries_refs=row.entries_refs,
        outlier=row.outlier,
        comparable=row.comparable,
        reason=row.reason,
        config_version=comparison.config_version.number,
        generated_at=timezone.now().isoformat(timespec="seconds"),
    )


def _write(comparison, scored, inputs, kinds, plot_options=None):
    references = [item.run for item in inputs.references]
    row = scored.row
    result = scored.outcome.result if scored.outcome is not None else None
    reason = row.reason if not row.comparable else None
    updates = {}
    info = plot_info(comparison, row, plot_options, references)
    paths = {kind: relative_path(row, kind) for kind in kinds}
    for relative in paths.values():
        absolute_path(relative).parent.mkdir(parents=True, exist_ok=True)
    if scored.data_hist is not None and ({"png", "pdf"} & set(kinds)):
        draw(
            scored.data_hist,
            result,
            info,
            png_path=absolute_path(paths["png"]) if "png" in paths else None,
            pdf_path=absolute_path(paths["pdf"]) if "pdf" in paths else None,
            reason=reason,
        )
        updates.update({kind: paths[kind] for kind in ("png", "pdf") if kind in paths})
    if "txt" in paths:
        fields = text_fields(comparison, row, references, inputs.data.run_file.path)
        write_result_text(absolute_path(paths["txt"]), **fields)
        updates["txt"] = paths["txt"]
    for name, value in updates.items():
        setattr(row, name, value)
    if row.pk and updates:
        type(row).objects.filter(pk=row.pk).update(**updates)


def draw_scored(comparison, scored, inputs, kinds=("png", "txt"), plot_options=None):
    """Draw the artifacts of a freshly scored row; a drawing failure is logged, never fatal."""
    try:
        _write(comparison, scored, inputs, kinds, plot_options or scored.plot_options)
    except (OSError, ValueError) as error:
        logger.error(
            "comparison %s: cannot draw %s of %s (run %s): %s",
            comparison.pk, "/".join(kinds), scored.row.histogram, comparison.data_run, error,
        )


def _job_for(config, row, n_refs):
    rule = next((rule for rule in config["hists"] if rule["path"] == row.rule_path), {"path": row.rule_path})
    options, plot_options = rule_options(config, rule, row.histogram, n_refs)
    job = HistogramJob(
        path=row.histogram, rule=rule, comparators=[row.comparator], options=options,
        plot_options=plot_options, always_show=row.always_show,
    )
    return job


def ensure(row, kind):
    """Return the absolute path of artifact `kind` of `row`, drawing it first when needed."""
    if kind not in KINDS:
        raise ArtifactError(f"unknown artifact kind {kind!r}; use one of {', '.join(KINDS)}")
    current = getattr(row, kind)
    if current and absolute_path(current).exists():
        return absolute_path(current)
    comparison = row.comparison
    config = comparison.config_version.config
    try:
        inputs = open_inputs(comparison, config)
    except (InputError, RootReadError) as error:
        raise ArtifactError(
            f"cannot draw {row.histogram} of run {comparison.data_run}: the DQM files cannot be opened: {error}"
        ) from error
    try:
        job = _job_for(config, row, len(inputs.references))
        fresh = score_job(comparison, inputs, job)[0]
        stored = Scored(row=row, data_hist=fresh.data_hist, ref_hists=fresh.ref_hists, outcome=fresh.outcome)
        kinds = sorted({kind, "txt"})
        _write(comparison, stored, inputs, kinds, job.plot_options)
    finally:
        inputs.close()
    return absolute_path(getattr(row, kind))
