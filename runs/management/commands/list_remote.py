from django.core.management.base import BaseCommand, CommandError

from runs import sources


class Command(BaseCommand):
    help = (
        "List what the DQM file server offers (or, without ADQM_DQM_URL, the runs registered from ADQM_DB): "
        "the series, the datasets of --series, or the runs of --series and --dataset. "
        "Online: the 10000-run blocks, or the runs of --series BLOCK."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", choices=sources.SOURCES, default=sources.OFFLINE)
        parser.add_argument(
            "--series", default="", help="offline series (e.g. Run2022) or online block (e.g. 00035xxxx)"
        )
        parser.add_argument("--dataset", default="", help="offline primary dataset, e.g. ZeroBias")

    def handle(self, *args, **options):
        if options["dataset"] and not options["series"]:
            raise CommandError("--dataset needs --series")
        choices = sources.list_choices(options["series"], options["dataset"], options["source"])
        if choices.error:
            self.stderr.write(f"the DQM file server could not be listed ({choices.error}); showing the local runs")
        for item in choices.items:
            if isinstance(item, sources.RunChoice):
                self.stdout.write(" ".join([str(item.number), *item.datasets]))
            else:
                self.stdout.write(item)
        self.stderr.write(f"{len(choices.items)} {choices.level} ({choices.origin})")
