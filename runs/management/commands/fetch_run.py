import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from runs import sources
from runs.dqmserver import DqmServerError


class Command(BaseCommand):
    help = (
        "Download a run's DQM file from the DQM file server (ADQM_DQM_URL) into ADQM_DB and register it. "
        "Offline example: fetch_run --series Run2022 --dataset ZeroBias --run 355200. "
        "Online example: fetch_run --source online --run 355200 --subsystem CSC"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source", choices=sources.SOURCES, default=sources.OFFLINE,
            help="offline (one harvested file per dataset) or online (one file per detector folder)",
        )
        parser.add_argument("--run", type=int, required=True, help="run number")
        parser.add_argument(
            "--series", default="",
            help="offline series, e.g. Run2022 or Commissioning2018 (default: from the era, else searched)",
        )
        parser.add_argument(
            "--dataset", default="", help="offline primary dataset, e.g. ZeroBias, or PRIMARY/ERA-PROCESSING"
        )
        parser.add_argument(
            "--processing", default="",
            help="offline ERA-PROCESSING to take instead of PromptReco, e.g. Run2022C-10Dec2022-v1",
        )
        parser.add_argument(
            "--subsystem", default="", help="online: subsystem config name; main.json maps it to a folder"
        )
        parser.add_argument("--folder", default="", help="online: detector folder of the file, e.g. L1T or CSC")
        parser.add_argument(
            "--refresh", action="store_true", help="read the server's listings again instead of the cache"
        )
        parser.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")

    def handle(self, *args, **options):
        if not sources.remote_configured():
            raise CommandError(
                "no DQM file server is configured: set ADQM_DQM_URL "
                "(at CERN: https://cmsweb.cern.ch/dqm/offline/data/browse/ROOT/) and your grid certificate"
            )
        bar = tqdm(
            total=0, unit="B", unit_scale=True, unit_divisor=1024, desc=f"run {options['run']}",
            file=sys.stderr, disable=True if options["no_progress"] else None,
        )

        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)

        try:
            result = self._fetch(options, progress)
        except (DqmServerError, ValueError) as error:
            raise CommandError(str(error)) from error
        finally:
            bar.close()
        run_file = result.run_file
        verb = "downloaded" if result.downloaded else "already downloaded"
        self.stdout.write(f"{verb} run {run_file.run} ({run_file.size} bytes): {run_file.path}")

    def _fetch(self, options, progress):
        if options["source"] == sources.ONLINE:
            folder = options["folder"]
            if not folder and options["subsystem"]:
                folder = sources.online_folder_of(options["subsystem"])
            if not folder:
                raise CommandError("an online file is per detector folder: give --subsystem or --folder")
            return sources.fetch_online(options["run"], folder, progress, refresh=options["refresh"])
        if not options["dataset"]:
            raise CommandError("give --dataset, e.g. --dataset ZeroBias (and --series Run2022)")
        primary, era_processing = sources.split_request(options["dataset"])
        return sources.fetch_offline(
            options["run"], primary, series=options["series"],
            era_processing=options["processing"] or era_processing,
            progress=progress, refresh=options["refresh"],
        )
