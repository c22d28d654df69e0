"""The account-level session pages and API; included by string from config.urls_portal, so
they load after it has registered the ``id`` converter."""

from django.urls import path

from accounts.sessions import api, views

urlpatterns = [
    path("account/sessions/", views.session_list, name="account-sessions"),
    path(
        "account/sessions/end-others/",
        views.session_end_others,
        name="account-sessions-end-others",
    ),
    path("account/sessions/<id:session_id>/end/", views.session_end, name="account-session-end"),
    path("api/v1/account/sessions/", api.SessionListAPI.as_view(), name="api-account-sessions"),
    path(
        "api/v1/account/sessions/end-others/",
        api.SessionEndOthersAPI.as_view(),
        name="api-account-sessions-end-others",
    ),
    path(
        "api/v1/account/sessions/<id:session_id>/",
        api.SessionDetailAPI.as_view(),
        name="api-account-session",
    ),
]
