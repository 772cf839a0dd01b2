"""Runs and the DQM ROOT files that hold their histograms."""

from django.db import models


class RunQuerySet(models.QuerySet):
    def in_dataset(self, dataset):
        """Filter by a dataset written `<primary dataset>/<era>-<processing>`."""
        from runs.naming import split_dataset

        primary, era, processing = split_dataset(dataset)
        return self.filter(primary_dataset=primary, era=era, processing=processing)


class Run(models.Model):
    """One run of one dataset: the unit a shifter compares."""

    number = models.PositiveIntegerField(db_index=True)
    primary_dataset = models.CharField(max_length=200, blank=True)
    era = models.CharField(max_length=200, blank=True)
    processing = models.CharField(max_length=200, blank=True)
    registered_at = models.DateTimeField(auto_now_add=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["-number", "primary_dataset", "era", "processing"]
        constraints = [
            models.UniqueConstraint(
                fields=["number", "primary_dataset", "era", "processing"], name="run_unique_per_dataset"
            )
        ]

    def __str__(self):
        return f"{self.number} {self.dataset}" if self.dataset else str(self.number)

    @property
    def dataset(self):
        """The dataset as written in permalinks: `<primary>/<era>-<processing>`."""
        if not self.primary_dataset:
            return ""
        era_processing = f"{self.era}-{self.processing}" if self.processing else self.era
        return f"{self.primary_dataset}/{era_processing}"


class RunFile(models.Model):
    """A DQM ROOT file on disk that contains histograms of one run."""

    OFFLINE = "offline"
    ONLINE = "online"
    LOCAL = "local"
    KIND_CHOICES = [(OFFLINE, "offline"), (ONLINE, "online"), (LOCAL, "local file")]

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=1000, unique=True)
    kind = models.CharField(max_length=10, choices=KIND_CHOICES, default=OFFLINE)
    online_folder = models.CharField(
        max_length=100, blank=True, help_text="Detector folder of an online file, e.g. L1T or CSC."
    )
    size = models.BigIntegerField(default=0)
    readable = models.BooleanField(default=True)
    problem = models.TextField(blank=True)
    registered_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "path"]

    def __str__(self):
        return self.path
