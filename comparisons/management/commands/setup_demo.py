"""Prepare a fresh site with data to look at: what `make run` calls after migrate."""

import json

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from comparisons.config_io import load_config_folder
from comparisons.models import Comparison, RunQuality, Subsystem
from comparisons.requests import RequestError, create_comparison, resolve_request
from comparisons.tasks import run_comparison
from runs.demo import write_demo_files
from runs.models import Run
from runs.registry import ScanReport, scan_folder, scan_path

RELEASE_FILES = [
    ("HcalRecHitsValidationHB__2007-08-24.root", "RelValHcal/CMSSW_1_6_0_pre10"),
    ("HcalRecHitsValidationHB__2007-11-16.root", "RelValHcal/CMSSW_1_7_0_pre12"),
]
DEMO_USER = "demo"


class Command(BaseCommand):
    help = (
        "Load the subsystem configs not yet in the database, write demo DQM files when ADQM_DB contains no "
        "ROOT file, register the runs, and run the demo comparisons (CSC demo runs and the HCAL release "
        "validation) once, so a new site has finished reports to open."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-user", action="store_true", help=f"do not create the local '{DEMO_USER}' user")

    def handle(self, *args, **options):
        self._load_missing_configs()
        self._prepare_files()
        self._run_demo_comparisons()
        self._mark_demo_references_good()
        if not options["no_user"]:
            self._create_demo_user()

    def _load_missing_configs(self):
        folder = settings.ADQM_CONFIG or settings.ADQM_FIXTURES / "configs"
        loaded, errors = load_config_folder(folder, only_new=True)
        for message in errors:
            self.stderr.write(message)
        if loaded:
            self.stdout.write(f"loaded configs: {', '.join(loaded)}")

    def _prepare_files(self):
        folder = settings.ADQM_DB
        folder.mkdir(parents=True, exist_ok=True)
        if not any(folder.rglob("*.root")):
            paths = write_demo_files(folder)
            self.stdout.write(f"wrote {len(paths)} demo DQM files to {folder}")
        report = scan_folder(folder)
        for path, reason in report.skipped:
            self.stderr.write(f"skipped {path}: {reason}")
        release = ScanReport()
        for name, dataset in RELEASE_FILES:
            scan_path(settings.ADQM_FIXTURES / "real" / name, release, run_number=1, dataset=dataset)
        self.stdout.write(f"runs known: {Run.objects.count()}")

    def _demo_requests(self):
        description = json.loads((settings.ADQM_FIXTURES / "demo.json").read_text())
        references = [entry["run"] for entry in description["reference_runs"]]
        requests = [("CSC", run["run"], references, "", "") for run in description["data_runs"]]
        requests.append(("HcalRecHits", 1, [1], RELEASE_FILES[1][1], RELEASE_FILES[0][1]))
        return requests

    def _run_demo_comparisons(self):
        for subsystem, data_run, references, data_dataset, ref_dataset in self._demo_requests():
            try:
                request = resolve_request(subsystem, data_run, references, data_dataset, ref_dataset)
            except RequestError as error:
                self.stderr.write(f"demo comparison {subsystem} {data_run} skipped: {error}")
                continue
            if Comparison.objects.filter(
                subsystem=request.subsystem, data_run=request.data_run, status=Comparison.DONE
            ).exists():
                continue
            comparison = create_comparison(request)
            run_comparison(comparison.pk)
            comparison.refresh_from_db()
            self.stdout.write(f"demo comparison {comparison}: {comparison.status} {comparison.error}")

    def _mark_demo_references_good(self):
        """Mark the demo reference runs good for CSC, as shifters would, so they are suggested first."""
        description = json.loads((settings.ADQM_FIXTURES / "demo.json").read_text())
        subsystem = Subsystem.objects.filter(name=description["subsystem"]).first()
        if subsystem is None:
            return
        for entry in description["reference_runs"]:
            run = Run.objects.filter(number=entry["run"], primary_dataset=description["primary_dataset"]).first()
            has_verdict = RunQuality.objects.filter(run=run, subsystem=subsystem).exists()
            if run is not None and not has_verdict:
                RunQuality.record(run, subsystem, RunQuality.GOOD, "demo reference run", author=None)

    def _create_demo_user(self):
        users = get_user_model()
        if not users.objects.filter(username=DEMO_USER).exists():
            users.objects.create_user(DEMO_USER, password=DEMO_USER)
            self.stdout.write(f"created the local user '{DEMO_USER}' (password '{DEMO_USER}')")
