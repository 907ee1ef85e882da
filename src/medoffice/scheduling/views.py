"""Pages of the scheduling app."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def day(request):
    return HttpResponse("scheduling")
