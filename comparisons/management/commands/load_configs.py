from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from comparisons.config_io import load_config_folder


class Command(BaseCommand):
    help = "Load AutoDQM JSON subsystem configs from a folder (default ADQM_CONFIG, else the shipped fixtures/configs)."

    def add_arguments(self, parser):
        parser.add_argument("folder", nargs="?", help="folder of <subsystem>.json files")
        parser.add_argument(
            "--only-new", action="store_true",
            help="load only subsystems not yet in the database, keeping admin edits of the others",
        )

    def handle(self, *args, **options):
        folder = Path(options["folder"] or settings.ADQM_CONFIG or settings.ADQM_FIXTURES / "configs")
        if not folder.is_dir():
            raise CommandError(f"config folder {folder} does not exist")
        loaded, errors = load_config_folder(folder, only_new=options["only_new"])
        for message in errors:
            self.stderr.write(message)
        self.stdout.write(f"loaded {len(loaded)} subsystem configs from {folder}: {', '.join(loaded)}")
        if errors and not loaded and not options["only_new"]:
            raise CommandError(f"no config in {folder} could be loaded")
