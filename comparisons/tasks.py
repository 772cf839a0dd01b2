"""The django-q task that runs one comparison, and the helpers that queue it.

Tasks take the comparison id, so running the same task twice is harmless:
the second call finds the comparison already claimed and returns.
"""

import logging

from django.db import transaction

from comparisons import artifacts
from comparisons.inputs import InputError, open_inputs
from comparisons.models import Comparison, HistogramResult
from comparisons.pipeline import (
    SAVE_BATCH,
    ProgressReporter,
    plan_jobs,
    plot_wanted,
    score_job,
    split_available,
    wants_eager_plot,
)
from runs.rootio import RootReadError

logger = logging.getLogger(__name__)


def queue_comparison(comparison, broker=None):
    """Send the comparison to the django-q workers (through `broker`, default the configured one)."""
    from django_q.tasks import async_task

    extra = {} if broker is None else {"broker": broker}
    task_id = async_task(
        "comparisons.tasks.run_comparison", comparison.pk, task_name=f"comparison-{comparison.pk}", **extra
    )
    logger.info("comparison %s queued as task %s", comparison.pk, task_id)
    return task_id


def run_comparison(comparison_id, progress=None, draw_plots=True):
    """Run comparison `comparison_id` to the end; record a failure with its reason.

    `progress(done, total, histogram_path)` is called after each histogram when given.
    With `draw_plots=False` no plot is drawn now; each is drawn when first requested.
    """
    comparison = Comparison.objects.select_related("subsystem", "config_version", "data_run").get(
        pk=comparison_id
    )
    if not comparison.claim():
        logger.info("comparison %s is %s already; nothing to do", comparison_id, comparison.status)
        return comparison.status
    logger.info("comparison %s started: %s", comparison_id, comparison)
    try:
        _execute(comparison, progress, draw_plots)
    except (InputError, RootReadError) as error:
        logger.warning("comparison %s failed: %s", comparison_id, error)
        comparison.fail(str(error))
    except Exception as error:  # noqa: BLE001 - any bug must still end the comparison as failed
        logger.exception("comparison %s failed with an unexpected error", comparison_id)
        comparison.fail(f"internal error: {type(error).__name__}: {error}")
    else:
        comparison.finish()
        logger.info("comparison %s done", comparison_id)
    return comparison.status


def _execute(comparison, progress, draw_plots):
    config = comparison.config_version.config
    comparison.set_progress(stage="opening DQM files")

    def download_progress(run, done, total):
        comparison.set_progress(stage=f"downloading run {run}: {done / 1e6:.1f} of {total / 1e6:.1f} MB")

    inputs = open_inputs(comparison, config, download_progress)
    try:
        for problem in inputs.problems:
            comparison.add_warning(problem)
        _score_all(comparison, config, inputs, progress, draw_plots)
    finally:
        inputs.close()


def _score_all(comparison, config, inputs, progress, draw_plots):
    jobs, unmatched = plan_jobs(config, inputs.data.folder, len(inputs.references))
    for path in unmatched:
        comparison.add_warning(
            f"rule '{path}' matches no histogram in the data file {inputs.data.run_file.path} (run {inputs.data.run})"
        )
    _warn_unavailable(comparison, jobs)
    HistogramResult.objects.filter(comparison=comparison).delete()
    reporter = ProgressReporter(comparison, len(jobs), progress)
    pending, to_draw = [], []
    for job in jobs:
        for scored in score_job(comparison, inputs, job):
            scored.row.plot_wanted = plot_wanted(config, scored.row)
            pending.append(scored.row)
            if draw_plots and wants_eager_plot(scored.row):
                to_draw.append(scored)
        reporter.advance(job.path)
        if len(pending) >= SAVE_BATCH:
            _save(pending)
    _save(pending)
    comparison.set_progress(stage=f"drawing {len(to_draw)} plots")
    for scored in to_draw:
        artifacts.draw_scored(comparison, scored, inputs)


def _warn_unavailable(comparison, jobs):
    names = sorted({name for job in jobs for name in job.comparators})
    _, unavailable = split_available(names)
    for name, reason in unavailable.items():
        comparison.add_warning(f"comparator {name} skipped: {reason}")
    for job in jobs:
        job.comparators = [name for name in job.comparators if name not in unavailable]


def _save(rows):
    with transaction.atomic():
        HistogramResult.objects.bulk_create(rows)
    rows.clear()
