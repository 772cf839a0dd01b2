"""Subsystem configs, comparisons, their per-histogram results and annotations."""

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone


class Subsystem(models.Model):
    """An AutoDQM subsystem config: where its histograms live and how to score them.

    Keys of the JSON format that the site acts on have their own fields. Every
    other key is kept in `extra`, so an export gives back what was imported.
    """

    name = models.CharField(max_length=100, unique=True)
    main_gdir = models.CharField(
        max_length=500, help_text="Folder of the subsystem in a DQM file; {0} stands for the run number."
    )
    comparators = models.JSONField(null=True, blank=True, help_text='Default comparators, e.g. ["beta_binomial"].')
    thresholds_fit = models.JSONField(null=True, blank=True)
    sel_display = models.JSONField(null=True, blank=True)
    excluded_hists = models.JSONField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True, help_text="Other keys of the JSON config, kept as they are.")
    key_order = models.JSONField(default=list, blank=True, editable=False)
    version = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def to_config(self):
        from comparisons.config_io import subsystem_to_config

        return subsystem_to_config(self)

    def record_version(self, user=None, note=""):
        """Store the current config as a new numbered version and return it.

        The latest version is reused when nothing changed, so saving an
        unchanged config in the admin does not create a new version.
        """
        config = self.to_config()
        latest = self.versions.order_by("-number").first()
        if latest is not None and latest.config == config:
            return latest
        with transaction.atomic():
            Subsystem.objects.filter(pk=self.pk).update(version=F("version") + 1)
            self.refresh_from_db(fields=["version"])
            return SubsystemVersion.objects.create(
                subsystem=self, number=self.version, config=config, created_by=user, note=note
            )

    def current_version(self):
        return self.versions.order_by("-number").first() or self.record_version(note="first use")


class SubsystemVersion(models.Model):
    """A frozen copy of a subsystem config, as used by the comparisons that name it."""

    subsystem = models.ForeignKey(Subsystem, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    config = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["subsystem", "-number"]
        constraints = [models.UniqueConstraint(fields=["subsystem", "number"], name="subsystem_version_unique")]

    def __str__(self):
        return f"{self.subsystem.name} v{self.number}"


class HistogramRule(models.Model):
    """One entry of a subsystem's `hists` list."""

    NORM_CHOICES = [("all", "all"), ("row", "row"), ("col", "col")]

    subsystem = models.ForeignKey(Subsystem, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    path = models.CharField(max_length=500, help_text="Relative to main_gdir; the last part may hold * and ?.")
    comparators = models.JSONField(null=True, blank=True)
    norm_type = models.CharField(max_length=3, choices=NORM_CHOICES, blank=True)
    # PostgreSQL reserves the column names xmin and xmax for row versions.
    xmin = models.FloatField(null=True, blank=True, db_column="range_xmin")
    xmax = models.FloatField(null=True, blank=True, db_column="range_xmax")
    concatenate = models.JSONField(null=True, blank=True)
    opts = models.JSONField(null=True, blank=True, help_text='e.g. ["logy", "chi2_cut=20", "min_entries=100"]')
    xlabels = models.JSONField(null=True, blank=True)
    ylabels = models.JSONField(null=True, blank=True)
    always_show = models.BooleanField(null=True, blank=True)
    jar_dir = models.CharField(max_length=300, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    key_order = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["subsystem", "position", "id"]
        indexes = [models.Index(fields=["subsystem", "position"], name="rule_subsystem_position")]

    def __str__(self):
        return self.path

    def clean(self):
        """Check the rule as the JSON import does, so admin edits cannot store an unusable rule."""
        from django.core.exceptions import ValidationError

        from comparisons.config_io import ConfigError, rule_to_config, validate_rule

        name = self.subsystem.name if self.subsystem_id else "(new subsystem)"
        try:
            validate_rule(name, self.position, rule_to_config(self))
        except ConfigError as error:
            raise ValidationError(str(error)) from error


class Comparison(models.Model):
    """A data run scored against an ordered list of reference runs with one subsystem config."""

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    STATUS_CHOICES = [(QUEUED, "queued"), (RUNNING, "running"), (DONE, "done"), (FAILED, "failed")]

    subsystem = models.ForeignKey(Subsystem, on_delete=models.PROTECT, related_name="comparisons")
    config_version = models.ForeignKey(SubsystemVersion, on_delete=models.PROTECT, related_name="comparisons")
    data_run = models.ForeignKey("runs.Run", on_delete=models.PROTECT, related_name="comparisons_as_data")
    references = models.ManyToManyField(
        "runs.Run", through="ComparisonReference", related_name="comparisons_as_reference"
    )
    SOURCE_CHOICES = [("", "any (offline first)"), ("offline", "offline"), ("online", "online"), ("local", "local file")]
    source = models.CharField(
        max_length=10, choices=SOURCE_CHOICES, blank=True, help_text="Which kind of DQM file the runs are read from."
    )
    permalink_key = models.CharField(max_length=1000, db_index=True, editable=False)
    version = models.PositiveIntegerField(default=1, help_text="Counts re-runs of the same permalink.")
    status = models.CharField(max_length=10, choices=STATUS_CHOICES, default=QUEUED, db_index=True)
    stage = models.CharField(max_length=200, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["permalink_key", "version"], name="comparison_permalink_version")
        ]
        indexes = [
            # Run history: the latest comparison of each run and subsystem.
            models.Index(fields=["data_run", "subsystem", "created_at"], name="comparison_run_latest"),
        ]

    def __str__(self):
        return f"{self.subsystem.name} {self.data_run} vs {self.reference_label()}"

    def reference_runs(self):
        """Return the reference runs in the order the shifter gave them."""
        from runs.models import Run

        return list(Run.objects.filter(comparisonreference__comparison=self).order_by("comparisonreference__position"))

    def reference_label(self):
        return ", ".join(str(run.number) for run in self.reference_runs())

    def get_absolute_url(self):
        from comparisons.permalinks import comparison_url

        return comparison_url(self)

    def get_status_url(self):
        return reverse("comparison-status", args=[self.pk])

    @property
    def is_finished(self):
        return self.status in (self.DONE, self.FAILED)

    def claim(self):
        """Mark a queued comparison as running; False when another worker has it already."""
        now = timezone.now()
        claimed = Comparison.objects.filter(pk=self.pk, status=self.QUEUED).update(
            status=self.RUNNING, started_at=now, stage="starting"
        )
        if claimed:
            self.refresh_from_db()
        return bool(claimed)

    def set_progress(self, done=None, total=None, stage=None):
        fields = {}
        if done is not None:
            fields["progress_done"] = done
        if total is not None:
            fields["progress_total"] = total
        if stage is not None:
            fields["stage"] = stage[:200]
        Comparison.objects.filter(pk=self.pk).update(**fields)
        for name, value in fields.items():
            setattr(self, name, value)

    def add_warning(self, message):
        self.warnings = [*self.warnings, message]
        Comparison.objects.filter(pk=self.pk).update(warnings=self.warnings)

    def finish(self):
        self._close(self.DONE, error="")

    def fail(self, reason):
        self._close(self.FAILED, error=reason)

    def _close(self, status, error):
        self.status, self.error, self.finished_at = status, error, timezone.now()
        self.stage = ""
        Comparison.objects.filter(pk=self.pk).update(
            status=status, error=error, finished_at=self.finished_at, stage=""
        )


class ComparisonReference(models.Model):
    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE)
    run = models.ForeignKey("runs.Run", on_delete=models.PROTECT)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["comparison", "position"]
        constraints = [
            models.UniqueConstraint(fields=["comparison", "position"], name="comparison_reference_position"),
            models.UniqueConstraint(fields=["comparison", "run"], name="comparison_reference_run"),
        ]


class HistogramResult(models.Model):
    """The score of one histogram by one comparator in one comparison."""

    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="results")
    histogram = models.CharField(max_length=1000, help_text="Path relative to the subsystem folder.")
    comparator = models.CharField(max_length=50)
    rule_path = models.CharField(max_length=500, blank=True)
    hist_type = models.CharField(max_length=20, blank=True)
    chi2 = models.FloatField(null=True, blank=True)
    max_pull = models.FloatField(null=True, blank=True)
    ks = models.FloatField(null=True, blank=True)
    p_value = models.FloatField(null=True, blank=True)
    n_used = models.PositiveIntegerField(null=True, blank=True)
    entries_data = models.FloatField(null=True, blank=True)
    entries_refs = models.JSONField(default=list, blank=True)
    thresholds = models.JSONField(default=dict, blank=True)
    outlier = models.BooleanField(default=False)
    comparable = models.BooleanField(default=True)
    reason = models.TextField(blank=True, help_text="Why it could not be compared, or a note on the score.")
    always_show = models.BooleanField(default=False)
    plot_wanted = models.BooleanField(default=True, help_text="False where sel_display skips the plot.")
    png = models.CharField(max_length=1000, blank=True)
    pdf = models.CharField(max_length=1000, blank=True)
    txt = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-outlier", "comparable", "histogram", "comparator"]
        constraints = [
            models.UniqueConstraint(
                fields=["comparison", "histogram", "comparator"], name="result_unique_per_comparison"
            )
        ]
        indexes = [
            # Trends and history: one histogram's scores across comparisons.
            models.Index(fields=["histogram", "comparator"], name="result_histogram_trend"),
        ]

    def __str__(self):
        return f"{self.histogram} ({self.comparator})"

    @property
    def name(self):
        return self.histogram.rsplit("/", 1)[-1]

    def current_annotation(self):
        return self.annotations.filter(superseded_by__isnull=True).order_by("-created_at").first()


class VersionedVerdict(models.Model):
    """A verdict that is never edited: a new row replaces the current one and the old row links to it."""

    comment = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    superseded_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="previous"
    )

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @classmethod
    def _record(cls, subject, **values):
        """Create the new current row for `subject`; the row it replaces points to it."""
        with transaction.atomic():
            current = (
                cls.objects.select_for_update()
                .filter(**subject, superseded_by__isnull=True)
                .order_by("-created_at")
                .first()
            )
            created = cls.objects.create(**subject, **values)
            if current is not None:
                current.superseded_by = created
                current.save(update_fields=["superseded_by"])
        return created


class Annotation(VersionedVerdict):
    """A shifter's verdict on one result. Changing it adds a version; old ones stay."""

    PROBLEM, FALSE_ALARM, KNOWN_ISSUE, FINE = "problem", "false_alarm", "known_issue", "fine"
    VERDICT_CHOICES = [
        (PROBLEM, "problem"),
        (FALSE_ALARM, "false alarm"),
        (KNOWN_ISSUE, "known issue"),
        (FINE, "fine"),
    ]

    result = models.ForeignKey(HistogramResult, on_delete=models.CASCADE, related_name="annotations")
    verdict = models.CharField(max_length=20, choices=VERDICT_CHOICES)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["result", "created_at"], name="annotation_result_time")]

    def __str__(self):
        return f"{self.get_verdict_display()} on {self.result}"

    @classmethod
    def record(cls, result, verdict, comment, author):
        """Add a verdict on `result`, keeping the one it replaces as history."""
        return cls._record({"result": result}, verdict=verdict, comment=comment, author=author)


class RunQuality(VersionedVerdict):
    """A shifter's verdict on a whole run for one subsystem: good runs make good references."""

    GOOD, BAD = "good", "bad"
    VERDICT_CHOICES = [(GOOD, "good"), (BAD, "bad")]

    run = models.ForeignKey("runs.Run", on_delete=models.CASCADE, related_name="quality_verdicts")
    subsystem = models.ForeignKey(Subsystem, on_delete=models.CASCADE, related_name="run_verdicts")
    verdict = models.CharField(max_length=10, choices=VERDICT_CHOICES)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["subsystem", "verdict"], name="run_quality_subsystem_verdict")]
        verbose_name_plural = "run qualities"

    def __str__(self):
        return f"run {self.run} {self.verdict} for {self.subsystem}"

    @classmethod
    def record(cls, run, subsystem, verdict, comment, author):
        """Set the verdict of `run` for `subsystem`, keeping the one it replaces as history."""
        subject = {"run": run, "subsystem": subsystem}
        return cls._record(subject, verdict=verdict, comment=comment, author=author)

