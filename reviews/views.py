from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def review_list(request):
    return render(request, "reviews/review_list.html", {"nav_active": "reviews"})
