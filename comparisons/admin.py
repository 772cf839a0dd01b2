"""The admin where subsystem experts keep their configs, and where comparisons and verdicts are looked up.

Subsystem configs are editable (rules inline, or in the rule list for large
subsystems), importable from AutoDQM JSON files and exportable back. Every
save that changes a config records a new SubsystemVersion; comparisons name
the version they used. Comparisons, results, annotations and versions are
read-only here: the pipeline and the shifters write them.
"""

import difflib
import io
import json
import logging
import zipfile
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import BooleanField, Count, ExpressionWrapper, Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from comparisons.config_io import NOT_SUBSYSTEM_FILES, ConfigError, import_config
from comparisons.models import (
    Annotation,
    Comparison,
    ComparisonReference,
    HistogramResult,
    HistogramRule,
    RunQuality,
    Subsystem,
    SubsystemVersion,
)
from comparisons.permalinks import versioned_url
from comparisons.trends import current_annotation_verdict, with_result_counts

logger = logging.getLogger(__name__)

# The rules of a subsystem are edited inline up to this many. Each inline
# rule posts 8 form fields, and Django rejects a request with more than
# DATA_UPLOAD_MAX_NUMBER_FIELDS (1000 by default). Larger subsystems, such as
# DT_DOC1 with 2,240 rules, are edited in the histogram rule list instead.
INLINE_RULE_LIMIT = 100


def histogram_trend_url(subsystem_name, histogram, comparator=""):
    query = {"histogram": histogram}
    if comparator:
        query["comparator"] = comparator
    return reverse("histogram-trend", kwargs={"subsystem": subsystem_name}) + "?" + urlencode(query)


def config_json(subsystem):
    """Return the subsystem's AutoDQM JSON text, indented as the shipped configs are."""
    return json.dumps(subsystem.to_config(), indent=4, ensure_ascii=False) + "\n"


def _json_download(filename, text):
    response = HttpResponse(text, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_response(subsystems):
    """Return one subsystem as a JSON download, several as a zip of JSON files."""
    subsystems = list(subsystems)
    if len(subsystems) == 1:
        return _json_download(f"{subsystems[0].name}.json", config_json(subsystems[0]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for subsystem in subsystems:
            archive.writestr(f"{subsystem.name}.json", config_json(subsystem))
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="autodqm-configs.zip"'
    return response


class OptionalJSONField(forms.JSONField):
    """A JSON form field that shows an absent value as an empty box instead of `null`.

    An empty box (or `null`) becomes `absent`: None for columns that allow
    NULL, {} for the `extra` columns that do not.
    """

    def __init__(self, *args, absent=None, **kwargs):
        self.absent = absent
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        return "" if value is None else super().prepare_value(value)

    def to_python(self, value):
        converted = super().to_python(value)
        return self.absent if converted is None else converted


class ConfigFieldsMixin:
    """Compact JSON boxes without `null` for the config fields of an admin page or inline."""

    json_columns = 80

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.JSONField):
            kwargs["form_class"] = OptionalJSONField
            kwargs["absent"] = None if db_field.null else {}
            kwargs["widget"] = forms.Textarea(attrs={"rows": 2, "cols": self.json_columns})
        elif isinstance(db_field, models.CharField) and db_field.max_length >= 500:
            # Folder and histogram paths are long, so their boxes are wider than the admin default.
            kwargs["widget"] = forms.TextInput(attrs={"size": self.json_columns})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


# --- import of AutoDQM JSON files ------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that takes several files at once and cleans each of them."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)) and data:
            return [single(item, initial) for item in data]
        # No file at all arrives as an empty list; the single-file check reports it as required.
        return [single(data or None, initial)]


class ConfigImportForm(forms.Form):
    files = MultipleFileField(
        label="AutoDQM JSON files",
        help_text="One or more subsystem configs; each file's name without .json becomes the subsystem name.",
    )
    replace = forms.BooleanField(
        required=False, label="Replace existing subsystems",
        help_text="Without this, a file whose subsystem exists already is skipped. Replacing records a new version.",
    )


def _read_upload(upload):
    """Return the JSON content of an uploaded file; ConfigError names the file when it is not JSON."""
    try:
        return json.loads(upload.read().decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(f"file {upload.name}: not UTF-8 text: {error}") from error
    except json.JSONDecodeError as error:
        raise ConfigError(f"file {upload.name}: not valid JSON: {error}") from error


def import_upload(upload, replace, user):
    """Import one uploaded config file; return (level, message) for the admin to show."""
    name = Path(upload.name).stem
    if Path(upload.name).name in NOT_SUBSYSTEM_FILES:
        return messages.WARNING, f"{upload.name} skipped: it is not a subsystem config"
    if not replace and Subsystem.objects.filter(name=name).exists():
        return messages.ERROR, (
            f"{upload.name} skipped: subsystem {name} exists already; tick 'Replace existing subsystems' to overwrite it"
        )
    try:
        subsystem = import_config(name, _read_upload(upload), user=user, note=f"imported from {upload.name} in the admin")
    except ConfigError as error:
        logger.warning("admin import of %s rejected: %s", upload.name, error)
        return messages.ERROR, f"{upload.name} not imported: {error}"
    rules = subsystem.rules.count()
    return messages.SUCCESS, f"{upload.name}: imported subsystem {name} with {rules} rules (config version {subsystem.version})"


# --- subsystems and their rules -----------------------------------------------------


class HistogramRuleInline(ConfigFieldsMixin, admin.TabularInline):
    """The commonly edited keys of each rule; the others are on the rule's own page."""

    model = HistogramRule
    extra = 0
    fields = ("position", "path", "comparators", "opts", "always_show")
    show_change_link = True
    json_columns = 30


@admin.register(Subsystem)
class SubsystemAdmin(ConfigFieldsMixin, admin.ModelAdmin):
    list_display = ("name", "main_gdir", "rule_count", "version", "updated_at", "links")
    search_fields = ("name", "main_gdir")
    readonly_fields = ("version", "rules_link", "updated_at")
    fields = (
        "name", "main_gdir", "comparators", "thresholds_fit", "sel_display", "excluded_hists", "extra",
        "version", "rules_link", "updated_at",
    )
    inlines = [HistogramRuleInline]
    actions = ["export_json"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_rules=Count("rules"))

    def get_inlines(self, request, obj):
        if obj is not None and obj.rules.count() > INLINE_RULE_LIMIT:
            return []
        return self.inlines

    @admin.display(description="rules", ordering="n_rules")
    def rule_count(self, subsystem):
        return subsystem.n_rules

    @admin.display(description="")
    def links(self, subsystem):
        return format_html(
            '<a href="{}">export JSON</a> · <a href="{}">trend</a> · <a href="{}">versions</a>',
            reverse("admin:comparisons_subsystem_export", args=[subsystem.pk]),
            reverse("subsystem-trend", kwargs={"subsystem": subsystem.name}),
            reverse("admin:comparisons_subsystemversion_changelist") + f"?subsystem__id__exact={subsystem.pk}",
        )

    @admin.display(description="histogram rules")
    def rules_link(self, subsystem):
        if subsystem.pk is None:
            return "Save the subsystem first, then add its rules."
        count = subsystem.rules.count()
        url = reverse("admin:comparisons_histogramrule_changelist") + f"?subsystem__id__exact={subsystem.pk}"
        if count > INLINE_RULE_LIMIT:
            return format_html(
                '{} rules, too many to edit on this page: <a href="{}">edit them in the rule list</a>.', count, url
            )
        return format_html('{} rules, edited below (also in the <a href="{}">rule list</a>).', count, url)

    def save_formset(self, request, form, formset, change):
        if formset.model is HistogramRule:
            self._append_new_rules(form.instance, formset)
        super().save_formset(request, form, formset, change)

    @staticmethod
    def _append_new_rules(subsystem, formset):
        """Put rules added with the default position 0 after the existing ones."""
        last = max((rule.position for rule in subsystem.rules.all()), default=-1)
        for inline_form in formset.forms:
            rule = inline_form.instance
            if rule.pk is None and rule.position == 0 and last >= 0 and inline_form.has_changed():
                last += 1
                rule.position = last

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.record_version(user=request.user, note="edited in the admin")

    @admin.action(description="Export selected subsystems as AutoDQM JSON", permissions=["view"])
    def export_json(self, request, queryset):
        return export_response(queryset.order_by("name"))

    def get_urls(self):
        own = [
            path("import/", self.admin_site.admin_view(self.import_view), name="comparisons_subsystem_import"),
            path("<path:object_id>/export/", self.admin_site.admin_view(self.export_view),
                 name="comparisons_subsystem_export"),
        ]
        return own + super().get_urls()

    def export_view(self, request, object_id):
        subsystem = get_object_or_404(Subsystem, pk=object_id)
        if not self.has_view_permission(request, subsystem):
            raise PermissionDenied
        return export_response([subsystem])

    def import_view(self, request):
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        if request.method == "POST":
            form = ConfigImportForm(request.POST, request.FILES)
        else:
            form = ConfigImportForm()
        if form.is_bound and form.is_valid():
            for upload in form.cleaned_data["files"]:
                level, message = import_upload(upload, form.cleaned_data["replace"], request.user)
                self.message_user(request, message, level)
            return redirect("admin:comparisons_subsystem_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import AutoDQM JSON configs",
            "form": form,
        }
        return TemplateResponse(request, "admin/comparisons/subsystem/import.html", context)


@admin.register(HistogramRule)
class HistogramRuleAdmin(ConfigFieldsMixin, admin.ModelAdmin):
    """Rules one by one: the way to edit subsystems with too many rules for the inline."""

    list_display = ("path", "subsystem", "position", "comparators", "opts", "always_show")
    list_filter = ("subsystem",)
    list_select_related = ("subsystem",)
    search_fields = ("path", "subsystem__name")
    ordering = ("subsystem__name", "position", "id")
    list_per_page = 100

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        note = f"rule {obj.path} edited in the admin"
        if change and "subsystem" in form.changed_data:
            # The rule moved: the subsystem it left changed too.
            Subsystem.objects.get(pk=form.initial["subsystem"]).record_version(user=request.user, note=note)
        obj.subsystem.record_version(user=request.user, note=note)

    def delete_model(self, request, obj):
        subsystem = obj.subsystem
        super().delete_model(request, obj)
        subsystem.record_version(user=request.user, note=f"rule {obj.path} deleted in the admin")

    def delete_queryset(self, request, queryset):
        subsystems = list(Subsystem.objects.filter(rules__in=queryset).distinct())
        super().delete_queryset(request, queryset)
        for subsystem in subsystems:
            subsystem.record_version(user=request.user, note="rules deleted in the admin")


class ReadOnlyAdmin(admin.ModelAdmin):
    """History that the admin shows but never changes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SubsystemVersion)
class SubsystemVersionAdmin(ReadOnlyAdmin):
    list_display = ("subsystem", "number", "created_at", "created_by", "note", "comparison_count")
    list_filter = ("subsystem",)
    list_select_related = ("subsystem", "created_by")
    search_fields = ("subsystem__name", "note")
    fields = ("subsystem", "number", "created_at", "created_by", "note", "changes", "config_text")
    readonly_fields = fields
    actions = ["restore"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_comparisons=Count("comparisons"))

    @admin.display(description="comparisons", ordering="n_comparisons")
    def comparison_count(self, version):
        return version.n_comparisons

    @admin.display(description="config")
    def config_text(self, version):
        return format_html("<pre>{}</pre>", json.dumps(version.config, indent=2))

    @admin.display(description="changes from the previous version")
    def changes(self, version):
        previous = version.subsystem.versions.filter(number__lt=version.number).order_by("-number").first()
        if previous is None:
            return "first version"
        before = json.dumps(previous.config, indent=2).splitlines()
        after = json.dumps(version.config, indent=2).splitlines()
        diff = difflib.unified_diff(before, after, f"v{previous.number}", f"v{version.number}", lineterm="", n=2)
        return format_html("<pre>{}</pre>", "\n".join(diff) or "no change")

    def has_restore_permission(self, request):
        return request.user.has_perm("comparisons.change_subsystem")

    @admin.action(description="Restore the selected version as the current config", permissions=["restore"])
    def restore(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to restore.", messages.ERROR)
            return None
        version = queryset.select_related("subsystem").get()
        note = f"restored from version {version.number} in the admin"
        subsystem = import_config(version.subsystem.name, version.config, user=request.user, note=note)
        self.message_user(request, f"{subsystem.name} now has the config of version {version.number} "
                                   f"(recorded as version {subsystem.version}).", messages.SUCCESS)
        return None


# --- comparisons and their results ---------------------------------------------------------


class ComparisonReferenceInline(admin.TabularInline):
    model = ComparisonReference
    extra = 0
    fields = ("position", "run")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Comparison)
class ComparisonAdmin(admin.ModelAdmin):
    list_display = (
        "id", "subsystem", "data_run", "reference_numbers", "status", "version", "config_number",
        "n_results", "n_outliers", "created_at", "report",
    )
    list_filter = ("status", "subsystem", "data_run__era", "data_run__primary_dataset")
    list_select_related = ("subsystem", "data_run", "config_version")
    search_fields = ("=data_run__number", "permalink_key")
    date_hierarchy = "created_at"
    readonly_fields = (
        "subsystem", "config_version", "data_run", "permalink_key", "version", "status", "stage",
        "progress_done", "progress_total", "error", "warnings", "created_by", "created_at", "started_at",
        "finished_at",
    )
    inlines = [ComparisonReferenceInline]

    def get_queryset(self, request):
        references = Prefetch(
            "comparisonreference_set",
            queryset=ComparisonReference.objects.select_related("run").order_by("position"),
            to_attr="ordered_references",
        )
        return with_result_counts(super().get_queryset(request)).prefetch_related(references)

    def has_add_permission(self, request):
        return False

    def view_on_site(self, comparison):
        return versioned_url(comparison)

    @admin.display(description="references")
    def reference_numbers(self, comparison):
        return ", ".join(str(reference.run.number) for reference in comparison.ordered_references)

    @admin.display(description="config", ordering="config_version__number")
    def config_number(self, comparison):
        url = reverse("admin:comparisons_subsystemversion_change", args=[comparison.config_version_id])
        return format_html('<a href="{}">v{}</a>', url, comparison.config_version.number)

    @admin.display(description="results", ordering="n_results")
    def n_results(self, comparison):
        return comparison.n_results

    @admin.display(description="outliers", ordering="n_outliers")
    def n_outliers(self, comparison):
        return comparison.n_outliers

    @admin.display(description="")
    def report(self, comparison):
        return format_html('<a href="{}">report</a>', versioned_url(comparison))


@admin.register(HistogramResult)
class HistogramResultAdmin(admin.ModelAdmin):
    list_display = (
        "histogram", "comparator", "subsystem", "data_run", "chi2", "max_pull", "entries_data",
        "outlier", "comparable", "verdict", "trend",
    )
    list_filter = ("outlier", "comparable", "comparator", "comparison__subsystem", "plot_wanted")
    list_select_related = ("comparison__subsystem", "comparison__data_run")
    search_fields = ("histogram", "=comparison__data_run__number")
    raw_id_fields = ("comparison",)
    list_per_page = 100
    # Counting every row of a table with millions of results is slow on PostgreSQL.
    show_full_result_count = False
    readonly_fields = tuple(
        field.name for field in HistogramResult._meta.get_fields() if field.concrete and field.name != "id"
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(current_verdict=current_annotation_verdict())

    def has_add_permission(self, request):
        return False

    @admin.display(description="subsystem", ordering="comparison__subsystem__name")
    def subsystem(self, result):
        return result.comparison.subsystem.name

    @admin.display(description="run", ordering="comparison__data_run__number")
    def data_run(self, result):
        return result.comparison.data_run.number

    @admin.display(description="annotation")
    def verdict(self, result):
        return result.current_verdict or "—"

    @admin.display(description="")
    def trend(self, result):
        url = histogram_trend_url(result.comparison.subsystem.name, result.histogram, result.comparator)
        return format_html('<a href="{}">trend</a>', url)


class CurrentFilter(admin.SimpleListFilter):
    """Current verdicts or the ones replaced since."""

    title = "current"
    parameter_name = "current"

    def lookups(self, request, model_admin):
        return [("yes", "current"), ("no", "replaced")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(superseded_by__isnull=True)
        if self.value() == "no":
            return queryset.filter(superseded_by__isnull=False)
        return queryset


def _is_current():
    return ExpressionWrapper(Q(superseded_by__isnull=True), output_field=BooleanField())


@admin.register(Annotation)
class AnnotationAdmin(ReadOnlyAdmin):
    list_display = ("histogram", "subsystem", "data_run", "verdict", "current", "author", "created_at")
    list_filter = ("verdict", CurrentFilter, "result__comparison__subsystem")
    list_select_related = ("result__comparison__subsystem", "result__comparison__data_run", "author")
    search_fields = ("result__histogram", "comment", "author__username", "=result__comparison__data_run__number")
    date_hierarchy = "created_at"
    fields = ("result", "verdict", "comment", "author", "created_at", "superseded_by", "history")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(is_current=_is_current())

    @admin.display(description="histogram", ordering="result__histogram")
    def histogram(self, annotation):
        return annotation.result.histogram

    @admin.display(description="subsystem")
    def subsystem(self, annotation):
        return annotation.result.comparison.subsystem.name

    @admin.display(description="run", ordering="result__comparison__data_run__number")
    def data_run(self, annotation):
        return annotation.result.comparison.data_run.number

    @admin.display(description="current", boolean=True, ordering="is_current")
    def current(self, annotation):
        return annotation.is_current

    @admin.display(description="all verdicts on this result")
    def history(self, annotation):
        rows = annotation.result.annotations.select_related("author").order_by("-created_at")
        return format_html_join(
            "", "<div>{} · {} · {}: {}</div>",
            ((row.created_at.strftime("%Y-%m-%d %H:%M"), row.author or "—", row.get_verdict_display(), row.comment)
             for row in rows),
        )


@admin.register(RunQuality)
class RunQualityAdmin(admin.ModelAdmin):
    """Run verdicts: new ones can be added (the one they replace stays as history), none is changed."""

    list_display = ("run", "subsystem", "verdict", "current", "author", "created_at")
    list_filter = ("verdict", CurrentFilter, "subsystem")
    list_select_related = ("run", "subsystem", "author")
    search_fields = ("=run__number", "comment", "subsystem__name")
    raw_id_fields = ("run",)
    date_hierarchy = "created_at"
    fields = ("run", "subsystem", "verdict", "comment")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(is_current=_is_current())

    @admin.display(description="current", boolean=True, ordering="is_current")
    def current(self, quality):
        return quality.is_current

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ("run", "subsystem", "verdict", "comment", "author", "created_at", "superseded_by")
        return ()

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        recorded = RunQuality.record(obj.run, obj.subsystem, obj.verdict, obj.comment, request.user)
        obj.pk = recorded.pk
