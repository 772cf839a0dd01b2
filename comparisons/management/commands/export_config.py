import json

from django.core.management.base import BaseCommand, CommandError

from comparisons.models import Subsystem


class Command(BaseCommand):
    help = "Write a subsystem config back as AutoDQM JSON (to standard output, or to --output FILE)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="subsystem name, e.g. CSC")
        parser.add_argument("--output", "-o", help="file to write instead of standard output")

    def handle(self, *args, **options):
        subsystem = Subsystem.objects.filter(name=options["name"]).first()
        if subsystem is None:
            known = ", ".join(Subsystem.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"unknown subsystem {options['name']!r} (loaded: {known})")
        text = json.dumps(subsystem.to_config(), indent=4) + "\n"
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            self.stdout.write(text, ending="")
