from django.contrib import admin

from runs.models import Run, RunFile


class RunFileInline(admin.TabularInline):
    model = RunFile
    extra = 0
    fields = ("path", "kind", "online_folder", "size", "readable", "problem")
    readonly_fields = ("size",)


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("number", "primary_dataset", "era", "processing", "registered_at")
    list_filter = ("primary_dataset", "era")
    search_fields = ("=number", "primary_dataset", "era", "processing")
    inlines = [RunFileInline]


@admin.register(RunFile)
class RunFileAdmin(admin.ModelAdmin):
    list_display = ("path", "run", "kind", "size", "readable")
    list_filter = ("kind", "readable")
    search_fields = ("path",)
