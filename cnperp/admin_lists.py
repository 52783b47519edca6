"""Admin lists that say which filter or page in their address they cannot apply, and which action
the user may not run, instead of a 500 or silence.

Shared by every model admin of the project (``cnperp.admin``) and the audit trail's list
(``cnperp.audit_admin``), which ``cnperp.admin`` imports: hence a module of its own.
"""

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import model_format_dict
from django.contrib.admin.views.main import (
    ALL_VAR,
    ERROR_FLAG,
    IS_FACETS_VAR,
    IS_POPUP_VAR,
    ORDER_VAR,
    PAGE_VAR,
    SEARCH_VAR,
    TO_FIELD_VAR,
)
from django.contrib.auth import get_permission_codename
from django.core.exceptions import ValidationError
from django.core.paginator import InvalidPage
from django.http import HttpResponseRedirect

# The admin takes any field lookup from the URL. Some fail only when the query runs, after the
# admin's own handling of bad lookups: a year outside 1..9998 (?start_date__year=99999, also as
# iso_year or compared: __year__gt=99999) cannot become the date range Django turns it into (a
# 500), and a broken regular expression (?reference__regex=() is refused by the database itself,
# which the outage handling would have reported as the database being down.
# The year stops at 9998: a list's date drilldown (?entry_date__year=9999, with or without
# __month=12 and __day=31) filters up to the next year, month or day, which 9999 has no room for.
DATE_PART_RANGES = {"year": (1, 9998), "iso_year": (1, 9998), "month": (1, 12), "day": (1, 31)}
PATTERN_LOOKUPS = frozenset({"regex", "iregex"})


def _out_of_range(bounds, value):
    try:
        number = int(value)
    except ValueError:
        return True
    return not bounds[0] <= number <= bounds[1]


def _bad_lookup(key, value):
    """Return whether the list filter ``key=value`` is one the database would fail on."""
    parts = key.split("__")[1:]
    if PATTERN_LOOKUPS.intersection(parts):
        return True
    for index, part in enumerate(parts):
        bounds = DATE_PART_RANGES.get(part)
        if bounds is None:
            continue
        # __year=, __year__gte=, ... take one number; __year__in= and __year__range= a list.
        following = parts[index + 1 : index + 2]
        values = value.split(",") if following and following[0] in ("in", "range") else [value]
        if any(_out_of_range(bounds, item) for item in values):
            return True
    return False


# What a list's address may carry besides filters (Django's own ChangeList parameters).
LIST_PARAMETERS = frozenset(
    {ALL_VAR, ORDER_VAR, SEARCH_VAR, PAGE_VAR, ERROR_FLAG, IS_POPUP_VAR, TO_FIELD_VAR, IS_FACETS_VAR}
)


def _shown(key, value, limit=60):
    text = f"{key}={value}"
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _first_sentence(error):
    """The cause of a refused lookup without Django's list of every field name."""
    # Django wraps the cause: IncorrectLookupParameters(error), raised from inside its except.
    cause = error.args[0] if error.args and isinstance(error.args[0], Exception) else error
    text = " ".join(cause.messages) if isinstance(cause, ValidationError) else str(cause)
    return text.split(". Choices are:")[0].rstrip(".")


class ForgedActionGuard:
    """An action the user may not run, posted anyway, is refused in red, naming it and its permission.

    Django drops such an action from the list's choices and then treats it as never asked: the
    list again without a word when the user has no action at all, "No action selected." when they
    have others. Nothing is changed either way; now the user is told why.
    """

    def changelist_view(self, request, extra_context=None):
        refused = self._forged_action(request)
        if refused is not None:
            return refused
        return super().changelist_view(request, extra_context)

    def _forged_action(self, request):
        if request.method != "POST" or "action" not in request.POST or "_save" in request.POST:
            return None
        names = request.POST.getlist("action")
        try:
            name = names[int(request.POST.get("index", 0))]
        except (ValueError, IndexError):
            return None
        known = {action_name: (func, text) for func, action_name, text in self._get_base_actions()}
        if name not in known or name in self.get_actions(request):
            return None  # an action that does not exist, or one the user may run: the admin's own
        func, description = known[name]
        missing = [
            self._permission_name(permission)
            for permission in getattr(func, "allowed_permissions", ())
            if not getattr(self, f"has_{permission}_permission")(request)
        ]
        if not missing:
            return None
        shown = str(description) % model_format_dict(self.opts)
        messages.error(
            request,
            f"You may not run “{shown}”: it needs the permission {', '.join(missing)}. Nothing was changed.",
        )
        return HttpResponseRedirect(request.get_full_path())

    def _permission_name(self, permission):
        # The posting mixins name their permissions (post_permission); the rest follow Django's rule.
        named = getattr(self, f"{permission}_permission", None)
        if isinstance(named, str) and named:
            return named
        return f"{self.opts.app_label}.{get_permission_codename(permission, self.opts)}"


class ListLookupGuard(ForgedActionGuard):
    """A list asked for a filter it cannot apply shows the whole list and says which filter and why.

    Django's own answer to a bad lookup is a redirect to the unfiltered list (``?e=1``) with no
    word of it, so a clerk who mistyped a filter read the whole list as the filtered one; and the
    same filter after ``e=1`` got the page "Something's wrong with your database installation".
    """

    def changelist_view(self, request, extra_context=None):
        bad = [_shown(key, value) for key, value in request.GET.items() if _bad_lookup(key, value)]
        if bad:
            return self._unfiltered(request, bad, "the database cannot apply it")
        response = super().changelist_view(request, extra_context)
        refused = getattr(request, "_refused_list_filter", None)
        page_refused = self._page_refused(request, refused)
        if page_refused is not None:
            return page_refused
        if refused is None:
            return response
        filters = [_shown(key, value) for key, value in request.GET.items() if key not in LIST_PARAMETERS]
        return self._unfiltered(request, filters, _first_sentence(refused))

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        paginator = super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        request._list_paginator = paginator  # how many pages there are, to name a page that is not one
        return paginator

    @staticmethod
    def _page_refused(request, refused):
        """Name a page the list does not have (``?p=999``, ``?p=-1``, ``?p=abc``) and show the first.

        Django answers a page past the end with the same bare redirect as a bad filter (which
        named nothing and dropped the filters), and reads ``?p=abc`` as page 1 without a word.
        """
        page = request.GET.get(PAGE_VAR)
        paginator = getattr(request, "_list_paginator", None)
        if page is None or paginator is None:
            return None
        if refused is not None and not isinstance(refused.__context__, InvalidPage):
            return None  # a filter was refused before the page was looked for: that is the message
        pages = paginator.num_pages
        try:
            number = int(page)
        except ValueError:
            problem = f"“{_shown(PAGE_VAR, page)[len(PAGE_VAR) + 1 :]}” is not a page number"
        else:
            if 1 <= number <= pages:
                return None
            problem = f"Page {number} does not exist"
        counted = f"{pages} page{'' if pages == 1 else 's'}"
        messages.error(request, f"{problem}: the list has {counted}; the first page is shown.")
        query = request.GET.copy()
        query.pop(PAGE_VAR)
        query.pop(ERROR_FLAG, None)
        return HttpResponseRedirect(f"{request.path}?{query.urlencode()}" if query else request.path)

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except IncorrectLookupParameters as error:
            request._refused_list_filter = error
            raise

    @staticmethod
    def _unfiltered(request, filters, reason):
        named = ", ".join(f"“{text}”" for text in filters) or "its address"
        messages.error(
            request, f"This list cannot be filtered by {named}: {reason}. The whole list is shown."
        )
        return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
