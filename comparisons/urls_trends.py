from django.urls import path

from comparisons import trend_views

urlpatterns = [
    path("trends/<str:subsystem>/", trend_views.subsystem_trend, name="subsystem-trend"),
    path("trends/<str:subsystem>/flagged.csv", trend_views.subsystem_trend, {"fmt": "csv"}, name="subsystem-trend-csv"),
    path("trends/<str:subsystem>/flagged.json", trend_views.subsystem_trend, {"fmt": "json"},
         name="subsystem-trend-json"),
    path("trends/<str:subsystem>/flagged.png", trend_views.subsystem_trend, {"fmt": "png"}, name="subsystem-trend-png"),
    path("trends/<str:subsystem>/histogram/", trend_views.histogram_trend, name="histogram-trend"),
    path("trends/<str:subsystem>/histogram.csv", trend_views.histogram_trend, {"fmt": "csv"},
         name="histogram-trend-csv"),
    path("trends/<str:subsystem>/histogram.json", trend_views.histogram_trend, {"fmt": "json"},
         name="histogram-trend-json"),
    path("trends/<str:subsystem>/histogram.png", trend_views.histogram_trend, {"fmt": "png"},
         name="histogram-trend-png"),
]
