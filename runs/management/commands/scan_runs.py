from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from runs.registry import RegistrationError, ScanReport, scan_folder, scan_path


class Command(BaseCommand):
    help = (
        "Register DQM ROOT files as runs. With a folder (default ADQM_DB), every .root file below it is "
        "registered by its DQM file name. With one file, --run and --dataset give the run number and "
        "dataset of a file whose name does not follow DQM naming."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="folder or file (default: ADQM_DB)")
        parser.add_argument("--run", type=int, help="run number of a single file")
        parser.add_argument("--dataset", default="", help="dataset of a single file, PRIMARY/ERA-PROCESSING")

    def handle(self, *args, **options):
        path = Path(options["path"] or settings.ADQM_DB)
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        if path.is_dir():
            if options["run"] is not None:
                raise CommandError("--run names the run of one file; give a file, not a folder")
            try:
                report = scan_folder(path)
            except RegistrationError as error:
                raise CommandError(str(error)) from error
        else:
            report = ScanReport()
            scan_path(path, report, run_number=options["run"], dataset=options["dataset"])
        self._print(report)

    def _print(self, report):
        for run_file in report.registered:
            self.stdout.write(f"registered run {run_file.run}: {run_file.path}")
        for path, reason in report.skipped:
            self.stderr.write(f"skipped {path}: {reason}")
        self.stdout.write(
            f"{len(report.registered)} registered, {len(report.unchanged)} already known, "
            f"{len(report.skipped)} skipped"
        )
