from django.contrib import admin
from django.db.models import Count
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

from runs.models import Run, RunFile


class RunFileInline(admin.TabularInline):
    model = RunFile
    extra = 0
    fields = ("path", "kind", "online_folder", "size", "readable", "problem")
    readonly_fields = ("size",)


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("number", "primary_dataset", "era", "processing", "file_count", "comparison_count", "registered_at")
    list_filter = ("primary_dataset", "era", "processing")
    search_fields = ("=number", "primary_dataset", "era", "processing")
    date_hierarchy = "registered_at"
    inlines = [RunFileInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_files=Count("files", distinct=True), n_comparisons=Count("comparisons_as_data", distinct=True)
        )

    def view_on_site(self, run):
        return reverse("run-detail", kwargs={"pk": run.pk})

    @admin.display(description="files", ordering="n_files")
    def file_count(self, run):
        return run.n_files

    @admin.display(description="comparisons", ordering="n_comparisons")
    def comparison_count(self, run):
        return run.n_comparisons


@admin.register(RunFile)
class RunFileAdmin(admin.ModelAdmin):
    list_display = ("path", "run", "kind", "online_folder", "file_size", "readable", "checked_at")
    list_filter = ("kind", "readable", "run__era", "run__primary_dataset")
    list_select_related = ("run",)
    search_fields = ("path", "=run__number", "problem")
    raw_id_fields = ("run",)

    @admin.display(description="size", ordering="size")
    def file_size(self, run_file):
        return filesizeformat(run_file.size)
