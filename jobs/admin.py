"""Admin registration for jobs (scoped by the request's acting user)."""

from django.contrib import admin

from .models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["title", "division", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["title"]
