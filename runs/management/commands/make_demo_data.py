from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from runs.demo import write_demo_files


class Command(BaseCommand):
    help = (
        "Write demo DQM ROOT files (CSC runs with injected faults: dead region, hot cell, shifted peak, "
        "low statistics) into DIR (default ADQM_DB)."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", nargs="?", help="where to write the files (default: ADQM_DB)")

    def handle(self, *args, **options):
        directory = Path(options["directory"] or settings.ADQM_DB)
        directory.mkdir(parents=True, exist_ok=True)
        paths = write_demo_files(directory)
        for path in paths:
            self.stdout.write(f"wrote {path}")
        self.stdout.write(f"{len(paths)} demo files in {directory}; register them with 'python manage.py scan_runs {directory}'")
