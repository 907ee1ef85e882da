"""Pages of the patients app."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def search(request):
    return HttpResponse("patients")
