from django.contrib import admin

from comparisons.models import (
    Annotation,
    Comparison,
    ComparisonReference,
    HistogramResult,
    HistogramRule,
    Subsystem,
    SubsystemVersion,
)


class HistogramRuleInline(admin.StackedInline):
    model = HistogramRule
    extra = 0


@admin.register(Subsystem)
class SubsystemAdmin(admin.ModelAdmin):
    list_display = ("name", "main_gdir", "version", "updated_at")
    search_fields = ("name",)
    inlines = [HistogramRuleInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.record_version(user=request.user, note="edited in the admin")


@admin.register(SubsystemVersion)
class SubsystemVersionAdmin(admin.ModelAdmin):
    list_display = ("subsystem", "number", "created_at", "created_by", "note")
    list_filter = ("subsystem",)
    readonly_fields = ("subsystem", "number", "config", "created_at", "created_by", "note")


class ComparisonReferenceInline(admin.TabularInline):
    model = ComparisonReference
    extra = 0


@admin.register(Comparison)
class ComparisonAdmin(admin.ModelAdmin):
    list_display = ("id", "subsystem", "data_run", "status", "version", "created_at")
    list_filter = ("status", "subsystem")
    search_fields = ("=data_run__number", "permalink_key")
    inlines = [ComparisonReferenceInline]


@admin.register(HistogramResult)
class HistogramResultAdmin(admin.ModelAdmin):
    list_display = ("histogram", "comparator", "comparison", "chi2", "max_pull", "outlier", "comparable")
    list_filter = ("outlier", "comparable", "comparator")
    search_fields = ("histogram",)


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ("result", "verdict", "author", "created_at")
    list_filter = ("verdict",)
