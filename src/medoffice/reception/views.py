"""Pages of the reception app."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def flow_board(request):
    return HttpResponse("reception")
