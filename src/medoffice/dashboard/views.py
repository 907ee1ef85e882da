from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from medoffice.core.permissions import Perm
from medoffice.core.views import permission_required
from medoffice.dashboard.selectors import tiles_for


@login_required
@permission_required(Perm.VIEW_DASHBOARD)
def home(request):
    return render(request, "dashboard/home.html", {"tiles": tiles_for(request.user)})
