from django.urls import path

from comparisons import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("comparisons/new/", views.new_comparison, name="comparison-new"),
    path("comparisons/preview/", views.preview_comparison, name="comparison-preview"),
    path("comparisons/start/", views.start_comparison, name="comparison-start"),
    path("comparisons/choices/datasets/", views.choices_datasets, name="choices-datasets"),
    path("comparisons/choices/runs/", views.choices_runs, name="choices-runs"),
    path("comparisons/choices/references/", views.choices_references, name="choices-references"),
    path("comparisons/<int:pk>/", views.comparison_status, name="comparison-status"),
    path("comparisons/<int:pk>/report/", views.comparison_report_by_id, name="comparison-report"),
    path("comparisons/<int:pk>/rerun/", views.rerun_comparison, name="comparison-rerun"),
    path("comparisons/<int:pk>/run-quality/", views.mark_run_quality, name="comparison-run-quality"),
    path("results/<int:pk>/", views.result_panel, name="result-panel"),
    path("results/<int:pk>/annotate/", views.annotate_result, name="result-annotate"),
    path("results/<int:pk>.<str:kind>", views.result_artifact, name="result-artifact"),
    path("api/comparisons/", api.comparisons, name="api-comparisons"),
    path("api/comparisons/<int:pk>/", api.comparison, name="api-comparison"),
    path("api/runs/", api.runs, name="api-runs"),
    path("compare/<path:key>/", views.comparison_permalink, name="comparison-permalink"),
]
