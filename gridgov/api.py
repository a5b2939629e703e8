"""The native JSON API (Django Ninja); OpenAPI at /api/docs. Each app adds its router here."""

from ninja.security import django_auth

from gridgov.core.openapi import GridgovAPI

api = GridgovAPI(
    title="gridgov API",
    version="1",
    description="Grid-based community governance. Session authentication (log in at /login/).",
    auth=django_auth,
    urls_namespace="api",
)


@api.get("/health", auth=None, tags=["system"])
def health(request):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return {"status": "ok"}


def _register():
    # before "/accounts/": its "/users/{user_id}" would take "/users/import"
    from gridgov.web.api_staff_import import router as staff_import_router

    api.add_router("/accounts/users/import", staff_import_router)
    from gridgov.accounts.api import router as accounts_router
    from gridgov.geo.api import router as geo_router
    from gridgov.cases.api import router as cases_router
    from gridgov.hotline.api import router as hotline_router
    from gridgov.registry.api import router as registry_router

    api.add_router("/geo/", geo_router)
    api.add_router("/accounts/", accounts_router)
    api.add_router("/registry/", registry_router)
    api.add_router("/cases/", cases_router)
    api.add_router("/hotline/", hotline_router)
    from gridgov.accounts.api_signin import router as signin_router

    api.add_router("/accounts/", signin_router)

    from gridgov.accounts.api_departments import router as departments_router

    api.add_router("/accounts/departments", departments_router)

    from gridgov.insight.api import router as insight_router

    api.add_router("/insight/", insight_router)

    from gridgov.accounts.api_settings import router as settings_router

    api.add_router("/settings/", settings_router)
    from gridgov.volunteers.api import router as volunteers_router

    api.add_router("/volunteers/", volunteers_router)
    from gridgov.volunteers import api_activities, api_party, api_teams, api_wishes

    api.add_router("/volunteers/activities", api_activities.router)
    api.add_router("/volunteers/teams", api_teams.router)
    api.add_router("/volunteers/party", api_party.router)
    api.add_router("/volunteers/wishes", api_wishes.router)
    from gridgov.deliberation.api import ROUTERS as deliberation_routers

    for prefix, router in deliberation_routers:
        api.add_router(prefix, router)
    from gridgov.property.api import ROUTERS as property_routers

    for prefix, router in property_routers:
        api.add_router(prefix, router)
    from gridgov.gridwork.api import ROUTERS as gridwork_routers

    for prefix, router in gridwork_routers:
        api.add_router(prefix, router)
    from gridgov.open311.api_keys import router as apikeys_router

    api.add_router("/apikeys/", apikeys_router)


_register()
