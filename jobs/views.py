"""The portal pages: the jobs the signed-in user may see."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from .models import Job


@login_required
def job_list(request):
    jobs = Job.objects.select_related("division")
    page = Paginator(jobs, 25).get_page(request.GET.get("page"))
    return render(request, "jobs/job_list.html", {"page": page})


@login_required
def job_detail(request, pk):
    # Out of scope and missing are the same 404: the scoped manager cannot tell them apart.
    job = get_object_or_404(Job.objects.select_related("division"), pk=pk)
    return render(request, "jobs/job_detail.html", {"job": job})
