from django.urls import path

from comparisons import views

urlpatterns = [
    path("", views.home, name="home"),
    path("comparisons/new/", views.new_comparison, name="comparison-new"),
    path("comparisons/<int:pk>/", views.comparison_status, name="comparison-status"),
    path("comparisons/<int:pk>/report/", views.comparison_report_by_id, name="comparison-report"),
    path("results/<int:pk>.<str:kind>", views.result_artifact, name="result-artifact"),
    path("api/comparisons/<int:pk>/", views.api_comparison, name="api-comparison"),
    path("compare/<path:key>/", views.comparison_permalink, name="comparison-permalink"),
]
