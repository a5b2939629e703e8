from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from gridgov.geo.models import GridNode


@login_required
def home(request):
    nodes = GridNode.objects.visible_to(request.user).filter(level__lte=1)
    return render(request, "web/home.html", {"nodes": nodes})
