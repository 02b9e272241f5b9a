from django.urls import path
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jwtsafe.authentication import JWTAuthentication


class WhoAmIView(APIView):
    def get(self, request: Request) -> Response:
        return Response({"user": str(request.user.pk)})


def view_with(*classes: type) -> object:
    return WhoAmIView.as_view(authentication_classes=list(classes))


urlpatterns = [
    path("jwtsafe/", view_with(JWTAuthentication)),
    path("drf-token/", view_with(TokenAuthentication)),
]

try:
    from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
except ImportError:  # the comparison with simplejwt is optional
    pass
else:
    urlpatterns.append(path("simplejwt/", view_with(JWTStatelessUserAuthentication)))
