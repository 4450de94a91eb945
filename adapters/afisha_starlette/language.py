"""The reader's language for an HTTP request: ``?lang=``, else ``Accept-Language``."""

from __future__ import annotations

from starlette.requests import Request

from afisha_core.i18n import Translator, translator
from afisha_starlette.runtime import Runtime

__all__ = ["asked_locale", "reader_locale", "texts"]


def texts(rt: Runtime) -> Translator:
    """The catalogues of the deployment (shipped plus the embedder's directories)."""
    return translator(rt.afisha.settings.locale_dirs)


def asked_locale(request: Request, rt: Runtime) -> str | None:
    """The language the request asks for (``?lang=``, then ``Accept-Language``), if any."""
    t = texts(rt)
    lang = request.query_params.get("lang")
    chosen = t.negotiate(lang) if lang else None
    if chosen is not None:
        return chosen
    return t.negotiate(request.headers.get("accept-language"))


def reader_locale(request: Request, rt: Runtime, user_locale: str | None = None) -> str:
    """The language to answer in: the user's, else the request's, else the default."""
    t = texts(rt)
    if user_locale:
        return t.resolve(user_locale)
    return asked_locale(request, rt) or t.resolve(rt.afisha.settings.default_locale)
