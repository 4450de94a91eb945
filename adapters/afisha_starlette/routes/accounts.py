"""Registration, password recovery, one's own account and user administration."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from afisha_core.domain import Role
from afisha_core.errors import (
    EmailTaken,
    InvalidCode,
    NotFound,
    RateLimited,
    RecoveryTokenInvalid,
    RegistrationNotFound,
    SystemUserProtected,
    TooManyAttempts,
    TotpAlreadyEnabled,
    TotpNotEnabled,
    UsernameTaken,
    WeakPassword,
    WrongCurrentPassword,
)
from afisha_core.usecases.totp import WrongTotp
from afisha_starlette import schemas as s
from afisha_starlette.endpoints import Endpoint, QueryParam
from afisha_starlette.language import asked_locale
from afisha_starlette.parsing import (
    path_uuid,
    query_cursor,
    query_enum,
    query_limit,
    query_text,
)
from afisha_starlette.routes._shared import (
    CURSOR,
    LIMIT,
    admin_of,
    client_of,
    limit_mail_by_address,
    login_out,
    page_of,
    parse_body,
    principal_of,
    render,
)
from afisha_starlette.runtime import Runtime

__all__ = ["ENDPOINTS"]


async def register(request: Request, rt: Runtime) -> Response:
    body: s.RegistrationIn = await parse_body(request, rt, s.RegistrationIn)
    await limit_mail_by_address(request, rt)
    token = await rt.afisha.accounts.register(
        body.email,
        body.username,
        body.full_name,
        body.password,
        locale=body.locale if body.locale is not None else asked_locale(request, rt),
    )
    return render(rt, s.RegistrationAccepted(registration_token=token), 202)


async def confirm_registration(request: Request, rt: Runtime) -> Response:
    body: s.ConfirmIn = await parse_body(request, rt, s.ConfirmIn)
    agent, address = client_of(request)
    result = await rt.afisha.accounts.confirm(
        request.path_params["registration_token"],
        body.code,
        user_agent=agent,
        client_address=address,
    )
    return render(rt, login_out(result), 201)


async def request_password_recovery(request: Request, rt: Runtime) -> Response:
    body: s.RecoveryIn = await parse_body(request, rt, s.RecoveryIn)
    await limit_mail_by_address(request, rt)
    await rt.afisha.recovery.request(body.email, locale=asked_locale(request, rt))
    return Response(status_code=202)


async def complete_password_recovery(request: Request, rt: Runtime) -> Response:
    body: s.RecoveryCompleteIn = await parse_body(request, rt, s.RecoveryCompleteIn)
    await rt.afisha.recovery.complete(
        request.path_params["recovery_token"], body.password, client_address=client_of(request)[1]
    )
    return Response(status_code=204)


async def get_me(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    user = await rt.afisha.accounts.get_me(principal.user)
    return render(rt, s.UserOut.of(user))


async def update_me(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    body: s.ProfilePatchIn = await parse_body(request, rt, s.ProfilePatchIn)
    user = await rt.afisha.accounts.update_profile(
        principal.user, full_name=body.full_name, username=body.username, locale=body.locale
    )
    return render(rt, s.UserOut.of(user))


async def change_password(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    body: s.PasswordChangeIn = await parse_body(request, rt, s.PasswordChangeIn)
    await rt.afisha.accounts.change_password(
        principal, body.current_password, body.new_password, client_address=client_of(request)[1]
    )
    return Response(status_code=204)


async def delete_me(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    body: s.PasswordIn = await parse_body(request, rt, s.PasswordIn)
    await rt.afisha.accounts.delete_me(
        principal, body.password, client_address=client_of(request)[1]
    )
    return Response(status_code=204)


async def list_users(request: Request, rt: Runtime) -> Response:
    admin = await admin_of(request, rt)
    page = await rt.afisha.accounts.list_users(
        admin,
        text=query_text(request, "q"),
        role=query_enum(request, "role", Role),
        limit=query_limit(request),
        cursor=query_cursor(request),
    )
    items = [s.UserOut.of(u) for u in page.items]
    return page_of(rt, s.UserList, items, page.next_cursor)


async def set_user_role(request: Request, rt: Runtime) -> Response:
    admin = await admin_of(request, rt)
    body: s.RolePatchIn = await parse_body(request, rt, s.RolePatchIn)
    user = await rt.afisha.accounts.change_role(
        admin, path_uuid(request, "user_id"), body.role, client_address=client_of(request)[1]
    )
    return render(rt, s.UserOut.of(user))


async def delete_user(request: Request, rt: Runtime) -> Response:
    admin = await admin_of(request, rt)
    await rt.afisha.accounts.delete_user(
        admin, path_uuid(request, "user_id"), client_address=client_of(request)[1]
    )
    return Response(status_code=204)


# --- two-factor login and personal data ----------------------------------------------


async def totp_enrol(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    body: s.PasswordIn = await parse_body(request, rt, s.PasswordIn)
    enrolment = await rt.afisha.totp.enrol(
        principal, body.password, client_address=client_of(request)[1]
    )
    out = s.TotpEnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)
    return render(rt, out, 201)


async def totp_confirm(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    body: s.TotpCodeIn = await parse_body(request, rt, s.TotpCodeIn)
    codes = await rt.afisha.totp.confirm(principal, body.code, client_address=client_of(request)[1])
    return render(rt, s.RecoveryCodesOut(recovery_codes=codes))


async def totp_disable(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    body: s.TotpDisableIn = await parse_body(request, rt, s.TotpDisableIn)
    await rt.afisha.totp.disable(
        principal, body.password, body.code, client_address=client_of(request)[1]
    )
    return Response(status_code=204)


async def export_me(request: Request, rt: Runtime) -> Response:
    principal = await principal_of(request, rt)
    data = await rt.afisha.personal_data.export(principal.user)
    response = render(rt, s.ExportOut.of(data))
    response.headers["Content-Disposition"] = 'attachment; filename="afisha-export.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


ENDPOINTS: list[Endpoint] = [
    Endpoint(method="POST", path="/v1/registrations", handler=register, tag="accounts",
             summary="Start a registration; a 6-digit code is mailed",
             body=s.RegistrationIn, response=s.RegistrationAccepted, status=202,
             errors=(EmailTaken, UsernameTaken, WeakPassword, RateLimited)),
    Endpoint(method="POST", path="/v1/registrations/{registration_token}/confirm",
             handler=confirm_registration, tag="accounts",
             summary="Confirm a registration with its code; logs the new account in",
             body=s.ConfirmIn, response=s.LoginOut, status=201,
             errors=(RegistrationNotFound, TooManyAttempts, InvalidCode)),
    Endpoint(method="POST", path="/v1/password-recovery", handler=request_password_recovery,
             tag="accounts", summary="Ask for a recovery link (always accepted)",
             body=s.RecoveryIn, status=202, response_media=()),
    Endpoint(method="POST", path="/v1/password-recovery/{recovery_token}",
             handler=complete_password_recovery, tag="accounts",
             summary="Set a new password with a recovery token; revokes every session",
             body=s.RecoveryCompleteIn, status=204, errors=(RecoveryTokenInvalid, WeakPassword)),
    Endpoint(method="GET", path="/v1/users/me", handler=get_me, tag="users",
             summary="The caller's account", access="user", response=s.UserOut),
    Endpoint(method="PATCH", path="/v1/users/me", handler=update_me, tag="users",
             summary="Change one's full name or username", access="user",
             body=s.ProfilePatchIn, response=s.UserOut, errors=(UsernameTaken,)),
    Endpoint(method="POST", path="/v1/users/me/password", handler=change_password,
             tag="users", summary="Change one's password; other sessions are revoked",
             access="user", body=s.PasswordChangeIn, status=204,
             errors=(WrongCurrentPassword, WeakPassword)),
    Endpoint(method="DELETE", path="/v1/users/me", handler=delete_me, tag="users",
             summary="Delete one's account (soft); all sessions are revoked",
             access="user", body=s.PasswordIn, status=204,
             errors=(WrongCurrentPassword, SystemUserProtected)),
    Endpoint(method="GET", path="/v1/users", handler=list_users, tag="users",
             summary="List users", access="admin", response=s.UserList,
             query=(QueryParam(name="q", schema={"type": "string", "maxLength": 200},
                               description="Text in email, username or full name."),
                    QueryParam(name="role", schema={"$ref": "#/components/schemas/Role"},
                               description="Only users with this role."),
                    LIMIT, CURSOR)),
    Endpoint(method="PATCH", path="/v1/users/{user_id}", handler=set_user_role, tag="users",
             summary="Set a user's role", access="admin", body=s.RolePatchIn,
             response=s.UserOut, errors=(NotFound, SystemUserProtected)),
    Endpoint(method="DELETE", path="/v1/users/{user_id}", handler=delete_user, tag="users",
             summary="Delete a user (soft)", access="admin", status=204,
             errors=(NotFound, SystemUserProtected)),
    Endpoint(method="POST", path="/v1/users/me/totp", handler=totp_enrol, tag="users",
             summary="Start two-factor login (TOTP): a secret, pending until confirmed",
             access="user", body=s.PasswordIn, response=s.TotpEnrolmentOut, status=201,
             errors=(WrongCurrentPassword, TotpAlreadyEnabled, RateLimited)),
    Endpoint(method="POST", path="/v1/users/me/totp/confirm", handler=totp_confirm,
             tag="users", summary="Confirm TOTP with a first code; returns 10 recovery codes",
             access="user", body=s.TotpCodeIn, response=s.RecoveryCodesOut,
             errors=(WrongTotp, TotpAlreadyEnabled, TotpNotEnabled, RateLimited)),
    Endpoint(method="DELETE", path="/v1/users/me/totp", handler=totp_disable, tag="users",
             summary="Turn two-factor login off (password and a code)", access="user",
             body=s.TotpDisableIn, status=204,
             errors=(WrongCurrentPassword, WrongTotp, TotpNotEnabled, RateLimited)),
    Endpoint(method="GET", path="/v1/users/me/export", handler=export_me, tag="users",
             summary="Everything stored about the caller, as JSON", access="user",
             response=s.ExportOut),
]  # fmt: skip
