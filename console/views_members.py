"""Member search and the member 360 page: filled in next."""

from django.http import HttpResponse

from console.views_base import staff_view


@staff_view("members.view_member")
def find(request):
    return HttpResponse("")


@staff_view("members.view_member")
def member(request, pk: int):
    return HttpResponse("")
