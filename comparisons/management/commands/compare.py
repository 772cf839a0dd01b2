import json
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import F
from tqdm import tqdm

from comparisons import artifacts
from comparisons.models import Comparison
from comparisons.permalinks import versioned_url
from comparisons.requests import RequestError, create_comparison, resolve_request
from comparisons.tasks import run_comparison


def result_document(comparison):
    """Build the --json document: the comparison, its permalink and one entry per result, outliers first."""
    results = []
    order = ("-outlier", "comparable", F("chi2").desc(nulls_last=True), "histogram", "comparator")
    for row in comparison.results.order_by(*order):
        results.append({
            "histogram": row.histogram,
            "comparator": row.comparator,
            "chi2": row.chi2,
            "max_pull": row.max_pull,
            "ks": row.ks,
            "outlier": row.outlier,
            "comparable": row.comparable,
            "reason": row.reason or None,
            **{kind: _artifact_path(getattr(row, kind)) for kind in artifacts.KINDS},
        })
    return {
        "comparison": comparison.pk,
        "status": comparison.status,
        "error": comparison.error or None,
        "warnings": comparison.warnings,
        "url": settings.ADQM_SITE_URL.rstrip("/") + versioned_url(comparison),
        "results": results,
    }


def _artifact_path(relative):
    return str(artifacts.absolute_path(relative)) if relative else None


def _figure(value):
    return "-" if value is None else f"{value:.3g}"


class Command(BaseCommand):
    help = (
        "Compare a data run with reference runs in the foreground and print a summary, outliers first. "
        "Example: compare --subsystem CSC --data-run 355200 --ref-runs 355100,355101,355102"
    )

    def add_arguments(self, parser):
        parser.add_argument("--subsystem", required=True, help="subsystem config name, e.g. CSC")
        parser.add_argument("--data-run", required=True, help="run number of the data run")
        parser.add_argument("--ref-runs", required=True, help="comma-separated reference run numbers")
        parser.add_argument("--data-dataset", default="", help="dataset of the data run, PRIMARY/ERA-PROCESSING")
        parser.add_argument("--ref-dataset", default="", help="dataset of the reference runs (default: the data's)")
        parser.add_argument(
            "--source", choices=["offline", "online", "local"], default="",
            help="read only this kind of DQM file (default: any, offline first)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON document instead of the summary")
        parser.add_argument(
            "--plots", choices=["flagged", "all", "none"], default="flagged",
            help="flagged: draw outliers and always_show histograms now (default); all: draw every PNG now; "
            "none: draw nothing now (plots are drawn when first opened)",
        )
        parser.add_argument("--no-plots", action="store_const", dest="plots", const="none", help="same as --plots none")

    def handle(self, *args, **options):
        try:
            request = resolve_request(
                options["subsystem"], options["data_run"], options["ref_runs"],
                data_dataset=options["data_dataset"], ref_dataset=options["ref_dataset"],
                source=options["source"],
            )
        except RequestError as error:
            if options["json"]:
                rejected = {"comparison": None, "status": "rejected", "error": str(error), "results": []}
                self.stdout.write(json.dumps(rejected, indent=2))
            raise CommandError(str(error)) from error
        comparison = create_comparison(request)
        self._run(comparison, quiet=options["json"], draw_plots=options["plots"] != "none")
        comparison.refresh_from_db()
        if options["plots"] == "all" and comparison.status == Comparison.DONE:
            self._draw_all(comparison)
        if options["json"]:
            self.stdout.write(json.dumps(result_document(comparison), indent=2))
        else:
            self._summary(comparison)
        if comparison.status == Comparison.FAILED:
            raise CommandError(f"comparison {comparison.pk} failed: {comparison.error}")

    def _run(self, comparison, quiet, draw_plots):
        # The bar is made at the first histogram, when the total is known.
        bars = []

        def progress(done, total, path):
            if not bars:
                bars.append(tqdm(total=total, unit="hist", desc="scoring", file=sys.stderr, disable=quiet or None))
            bars[0].update(done - bars[0].n)

        try:
            run_comparison(comparison.pk, progress=progress, draw_plots=draw_plots)
        finally:
            for bar in bars:
                bar.close()

    def _draw_all(self, comparison):
        for row in comparison.results.filter(png=""):
            try:
                artifacts.ensure(row, "png")
            except artifacts.ArtifactError as error:
                self.stderr.write(str(error))

    def _summary(self, comparison):
        # The report's default order: outliers first, highest chi2 first.
        order = ("-outlier", "comparable", F("chi2").desc(nulls_last=True), "histogram")
        rows = list(comparison.results.order_by(*order))
        outliers = [row for row in rows if row.outlier]
        flagged = [row for row in rows if not row.comparable and not row.outlier]
        self.stdout.write(f"comparison {comparison.pk}: {comparison}")
        self.stdout.write(f"status: {comparison.status}" + (f" ({comparison.error})" if comparison.error else ""))
        for warning in comparison.warnings:
            self.stdout.write(f"warning: {warning}")
        self.stdout.write(f"{len(rows)} results, {len(outliers)} outliers, {len(flagged)} not comparable")
        for row in outliers:
            self.stdout.write(
                f"OUTLIER  {row.histogram} [{row.comparator}] chi2={_figure(row.chi2)} "
                f"max_pull={_figure(row.max_pull)} ks={_figure(row.ks)}" + (f"  ({row.reason})" if row.reason else "")
            )
        for row in flagged:
            self.stdout.write(f"NOT COMPARABLE  {row.histogram} [{row.comparator}]: {row.reason}")
        self.stdout.write(f"report: {settings.ADQM_SITE_URL.rstrip('/')}{versioned_url(comparison)}")
