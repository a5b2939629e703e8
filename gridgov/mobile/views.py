"""The H5 pages (/m/) for residents and volunteers, and for staff on the move. Reporting itself
goes through the cases JSON API from the phone's script (it keeps an outbox when the network is
down); these views render pages, log in, register, rate, grab, and let staff accept, arrive,
resolve (with note and photos) and return their cases; they only call services."""


from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from shapely import wkt
from shapely.geometry import mapping

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.accounts.views import LoginView
from gridgov.cases import services
from gridgov.cases.models import FOLLOWER, FULL, OPEN_STATES, RATABLE_STATES, Case, Rating, Scenario, Score, State
from gridgov.cases.templatetags.cases_extras import current_clocks
from gridgov.geo.coords import to_wgs84
from gridgov.geo.spatial import haversine_m
from gridgov.geo.models import GridNode

from .forms import CodeForm, MobileLoginForm, PhoneForm, RegisterForm
from .services import CodeInvalid, PhoneTaken, finish_registration, start_registration

m_login_required = login_required(login_url="/m/login/")


class MobileLoginView(LoginView):
    template_name = "mobile/login.html"
    authentication_form = MobileLoginForm
    redirect_authenticated_user = True
    next_page = "/m/"

    def get_default_redirect_url(self):
        return "/m/"


REGISTER_KEY = "register_code"  # the session keeps the id of the pending code, nothing else


def register(request):
    """Step 1: phone, name, password → a code is sent (the same answer for a registered number);
    step 2: the code → the account, logged in. The code is never in the page."""
    from gridgov.accounts import services as account_services
    from gridgov.accounts.models import PhoneCode

    if request.GET.get("restart"):
        request.session.pop(REGISTER_KEY, None)
        return redirect("/m/register/")
    pending = PhoneCode.objects.filter(pk=request.session.get(REGISTER_KEY) or 0, used_at__isnull=True).first()
    if pending is not None:
        code_form = CodeForm(request.POST or None)
        if request.method == "POST" and code_form.is_valid():
            try:
                user = finish_registration(pending.pk, code_form.cleaned_data["code"])
            except (CodeInvalid, PhoneTaken) as exc:
                code_form.add_error("code", str(exc))
            else:
                request.session.pop(REGISTER_KEY, None)
                auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect("/m/")
        return render(request, "mobile/register.html", {"code_form": code_form, "pending": pending})
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pc = start_registration(form.cleaned_data["phone"], form.cleaned_data["password"], form.cleaned_data["display_name"])
        except account_services.CodeRefused as exc:
            form.add_error("phone", str(exc))
        else:
            request.session[REGISTER_KEY] = pc.pk
            return redirect("/m/register/")
    return render(request, "mobile/register.html", {"form": form})


def service_worker(request):
    """The service worker, served under /m/ so that its scope covers the H5 pages."""
    from django.contrib.staticfiles import finders
    from django.http import FileResponse

    path = finders.find("mobile/sw.js")
    resp = FileResponse(open(path, "rb"), content_type="text/javascript")
    resp["Cache-Control"] = "no-cache"
    return resp


def _outline():
    """The street and its communities as light GeoJSON for the pin map (public boundaries, no
    basemap needed); None when no territory is loaded."""
    feats = []
    for node in GridNode.objects.filter(level__gte=gl.street_level(), level__lte=gl.community_level()).exclude(geom_wkt="").order_by("level", "code")[:50]:
        geom = wkt.loads(node.geom_wkt).simplify(0.0002, preserve_topology=True)
        feats.append({"type": "Feature", "properties": {"name": node.name, "level": node.level}, "geometry": mapping(geom)})
    return {"type": "FeatureCollection", "features": feats} if feats else None


SIGNIN_KEY = "signin_code"  # the session keeps the id of the pending sign-in code, nothing else
WECHAT_SESSION_KEY = "wechat_openid"  # an openid waiting for its SMS proof (= accounts.api_signin's)
WECHAT_STATE_KEY = "wechat_state"  # the OAuth round's state


def _signin_context(request, **extra):
    from gridgov.accounts import wechat

    return {"wechat": wechat.provider() is not None, "binding": bool(request.session.get(WECHAT_SESSION_KEY)), **extra}


def signin(request):
    """Residents sign in with their number and a one-time SMS code (accounts.signin), no password:
    step 1 the number → a code is sent (the same answer for every number: a staff number gets a
    note to use the password login instead); step 2 the code → signed in (a first sign-in makes
    the resident account), back to the report page. A WeChat openid waiting in the session (a
    first sign-in from WeChat) is bound to the account then. The code is never in the page."""
    from gridgov.accounts import services as account_services
    from gridgov.accounts import signin as sms
    from gridgov.accounts import wechat
    from gridgov.core.net import client_ip
    from gridgov.accounts.models import PhoneCode

    if request.GET.get("restart"):
        request.session.pop(SIGNIN_KEY, None)
        return redirect("/m/signin/")
    pending = PhoneCode.objects.filter(pk=request.session.get(SIGNIN_KEY) or 0, purpose=sms.PURPOSE,
                                       used_at__isnull=True).first()
    if pending is not None:
        code_form = CodeForm(request.POST or None)
        if request.method == "POST" and code_form.is_valid():
            try:
                user, _created = sms.finish(pending.pk, code_form.cleaned_data["code"])
            except sms.CodeInvalid as exc:
                code_form.add_error("code", str(exc))
            else:
                request.session.pop(SIGNIN_KEY, None)
                openid = request.session.get(WECHAT_SESSION_KEY)
                auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                if openid:
                    wechat.bind(openid, user)
                    request.session.pop(WECHAT_SESSION_KEY, None)
                return redirect("/m/")
        return render(request, "mobile/signin.html", _signin_context(request, code_form=code_form, pending=pending),
                      status=400 if code_form.errors else 200)
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pc = sms.request_code(form.cleaned_data["phone"], client_ip(request))
        except account_services.CodeRefused as exc:
            form.add_error("phone", str(exc))
            resp = render(request, "mobile/signin.html", _signin_context(request, form=form), status=429)
            resp["Retry-After"] = str(exc.retry_after)
            return resp
        request.session[SIGNIN_KEY] = pc.pk
        return redirect("/m/signin/")
    return render(request, "mobile/signin.html", _signin_context(request, form=form), status=400 if form.errors else 200)


def wechat_start(request):
    """Inside WeChat: off to the OAuth page (scope snsapi_base), which comes back to /m/wechat/."""
    import secrets

    from gridgov.accounts import wechat

    prov = wechat.provider()
    if prov is None:
        raise Http404("未开通微信登录")
    state = secrets.token_urlsafe(16)
    request.session[WECHAT_STATE_KEY] = state
    return redirect(prov.authorize_url(request.build_absolute_uri("/m/wechat/"), state))


def wechat_back(request):
    """WeChat's redirect with the OAuth code: a bound openid signs in; a new one waits in the
    session for an SMS proof of the number (/m/signin/), which binds it."""
    from gridgov.accounts import wechat

    prov = wechat.provider()
    state = request.session.pop(WECHAT_STATE_KEY, None)
    if prov is None or not state or request.GET.get("state") != state:
        return redirect("/m/signin/")
    try:
        openid = prov.exchange(request.GET.get("code", ""))
    except wechat.WechatError:
        return redirect("/m/signin/")
    user = wechat.user_for(openid)
    if user is None:
        request.session[WECHAT_SESSION_KEY] = openid
        return redirect("/m/signin/")
    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("/m/")


def report(request):
    if not request.user.is_authenticated:  # a resident reports with their number and a code, nothing else
        return render(request, "mobile/signin.html", _signin_context(request, form=PhoneForm(), on_report=True))
    scenarios = Scenario.objects.prefetch_related("items").order_by("id")
    items = [(s.name, [i for i in s.items.all() if i.active]) for s in scenarios]
    from gridgov.cases import conf

    return render(request, "mobile/report.html", {"items": items, "outline": _outline(), "tab": "report",
                                                  "max_text": conf.get_int("CASES_MAX_TEXT")})


def _mine(user):
    return Case.objects.visible_to(user, following=True).filter(Q(reporter=user) | Q(followers__user=user)).distinct()


@m_login_required
def my_cases(request):
    cases = list(_mine(request.user).select_related("item", "reporter").order_by("-id")[:100])
    for c in cases:  # what a co-reporter sees of each (the reporter's names masked in the text)
        c.text = services.view_for(c, request.user, FOLLOWER, events=False).text
    return render(request, "mobile/cases.html", {"cases": cases, "open_states": OPEN_STATES, "tab": "cases"})


def _case_for(user, pk):
    case = Case.objects.visible_to(user, following=True).select_related("item", "grid").filter(pk=pk).first()
    if case is None:
        raise Http404("没有这个事件")
    return case


def _case_context(request, case, **extra):
    user = request.user
    rated = Rating.objects.filter(case=case, user=user, round=case.reopen_count).exists()
    follows = case.followers.filter(user=user).exists()
    view = services.view_for(case, user)  # staff whose work it is: all; a reporter or follower: the co-reporter view
    work = view.level == FULL and user.is_staff_role
    return {
        "case": case, "text": view.text, "events": view.events, "photos": case.photos.all(),
        "ratings": view.ratings, "scores": Score.choices,
        "may_rate": follows and case.state in RATABLE_STATES and not rated, "rated": rated,
        "tab": "work" if work and not follows else "cases",
        # staff: the case's clocks and the actions `services.may_act` allows them now
        "clock_views": current_clocks(case, timezone.now()) if work else [],
        "actions": [a for a in STAFF_ACTIONS if services.may_act(user, case, a)] if work else [],
        "done": DONE.get(request.GET.get("done", "")), **extra,
    }


@m_login_required
def case_detail(request, pk):
    case = _case_for(request.user, pk)
    return render(request, "mobile/case.html", _case_context(request, case))


@m_login_required
@require_POST
def rate(request, pk):
    case = _case_for(request.user, pk)
    try:
        services.rate(case, request.user, request.POST.get("score", ""), request.POST.get("comment", "")[:500])
    except (services.CaseError, ValueError) as exc:
        case.refresh_from_db()
        return render(request, "mobile/case.html", _case_context(request, case, error=_message(exc)), status=400)
    return redirect(f"/m/cases/{case.pk}/?rated=1")


def _message(exc) -> str:
    if isinstance(exc, services.NotAllowed):
        return _("无权操作：%(reason)s") % {"reason": exc}
    if isinstance(exc, services.Conflict):
        return _("状态已变化：%(reason)s") % {"reason": exc}
    return _("输入有误：%(reason)s") % {"reason": exc}


def _point(request):
    try:
        lon, lat = float(request.GET["lon"]), float(request.GET["lat"])
        return to_wgs84(lon, lat, request.GET.get("crs", "wgs84"))
    except (KeyError, ValueError):
        return None


@m_login_required
def tasks(request, error=None):
    """Volunteers and stewards: grabbable tasks still free (nearest first when the phone gave its place) and
    the tasks they took."""
    user = request.user
    if not policy.holds(user, "grab"):  # volunteers and stewards (accounts.policy.RELATIONS)
        return render(request, "mobile/tasks.html", {"not_volunteer": True, "tab": "tasks"}, status=403)
    visible = Case.objects.visible_to(user).select_related("item")
    free = list(visible.filter(grabbable=True, grabbed_by__isnull=True, state=State.DISPATCHED).order_by("-id")[:200])
    here = _point(request)
    for c in free:
        c.distance_m = round(haversine_m(here[0], here[1], c.lon, c.lat)) if here and c.lon is not None else None
    if here:
        free.sort(key=lambda c: (c.distance_m is None, c.distance_m or 0))
    mine = visible.filter(grabbed_by=user, state__in=[State.ACCEPTED, State.ON_SITE]).order_by("-id")
    return render(request, "mobile/tasks.html", {"free": free[:50], "mine": mine, "here": here, "error": error, "tab": "tasks"},
                  status=400 if error else 200)


@m_login_required
@require_POST
def task_action(request, pk, action):
    case = Case.objects.visible_to(request.user).filter(pk=pk).first()
    if case is None or action not in ("grab", "arrive", "resolve"):
        raise Http404("没有这个任务")
    fn = {"grab": lambda: services.grab(case, request.user), "arrive": lambda: services.arrive(case, request.user),
          "resolve": lambda: services.resolve(case, request.user, request.POST.get("note", "")[:1000],
                                              photos=request.FILES.getlist("photos"))}[action]
    try:
        fn()
    except (services.CaseError, ValueError) as exc:
        return tasks(request, error=_message(exc))
    return redirect("/m/tasks/")


# --- staff on the phone -----------------------------------------------------------------------

#: what staff do on the phone (the workbench's handling actions, through the same services and
#: the same `services.may_act`)
STAFF_ACTIONS = ("accept", "arrive", "resolve", "return")
#: the states in which one of them may be due
WORK_STATES = tuple(sorted(set().union(*(services.TRANSITIONS[a][0] for a in STAFF_ACTIONS))))
DONE = {"accept": gettext_lazy("已受理"), "arrive": gettext_lazy("已到场"), "resolve": gettext_lazy("已办结"),
        "return": gettext_lazy("已退回")}
WORK_PAGE = 20


@m_login_required
def work(request):
    """Staff: the cases that need them — of their work (`Case.objects.handled_by`: section
    staff, their department's), waiting to be accepted, reached or resolved — nearest deadline
    first; "only mine" keeps those they handle."""
    user = request.user
    if not user.is_staff_role:
        return render(request, "mobile/work.html", {"not_staff": True, "tab": "work"}, status=403)
    mine = request.GET.get("mine") == "1"
    qs = Case.objects.handled_by(user).filter(state__in=WORK_STATES)
    if mine:
        qs = qs.filter(handler_user=user)
    rows = qs.select_related("item", "grid").prefetch_related("clocks").by_deadline(WORK_STATES)
    page = Paginator(rows, WORK_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    for c in page.object_list:
        c.clock_views = current_clocks(c, now)
        c.mine = c.handler_user_id == user.pk
    return render(request, "mobile/work.html", {"page": page, "mine": mine, "tab": "work",
                                                "done": DONE.get(request.GET.get("done", ""))})


@m_login_required
@require_POST
def case_action(request, pk, action):
    """Accept, arrive, resolve (note and photos: the report's upload limits) or return (with a
    reason) a case of one's work; errors are shown on the case's page."""
    user = request.user
    case = Case.objects.visible_to(user).select_related("item", "grid").filter(pk=pk).first()
    if case is None or action not in STAFF_ACTIONS or not user.is_staff_role:
        raise Http404("没有这个事件")
    note = request.POST.get("note", "").strip()[:1000]
    try:
        if action == "resolve":
            services.resolve(case, user, note, photos=request.FILES.getlist("photos"))
        elif action == "return":
            services.return_case(case, user, note)
        else:
            {"accept": services.accept, "arrive": services.arrive}[action](case, user, note)
    except (services.CaseError, ValueError) as exc:
        case.refresh_from_db()
        return render(request, "mobile/case.html", _case_context(request, case, error=_message(exc)), status=400)
    # a returned case leaves its handler's work: back to the list
    return redirect("/m/work/?done=return" if action == "return" else f"/m/cases/{case.pk}/?done={action}")
