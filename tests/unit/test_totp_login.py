"""Two-factor login through the use cases, on the in-memory adapters, with pyotp as the app."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from afisha_core.domain import AuditAction, Role
from afisha_core.errors import (
    Forbidden,
    InvalidCredentials,
    InvalidTotp,
    RateLimited,
    TotpAlreadyEnabled,
    TotpNotEnabled,
    TotpRequired,
    TotpSetupRequired,
    ValidationFailed,
    WrongCurrentPassword,
)
from afisha_core.ports import AuditQuery
from afisha_core.settings import Settings
from afisha_core.usecases import LoginResult, WrongTotp
from tests.support.world import PASSWORD, World
from tests.unit._helpers import assert_token_rejected, login, principal_of, stored_user

STEP = timedelta(seconds=30)


def app_code(secret: str, world: World) -> str:
    """What the authenticator app shows now (pyotp: an implementation independent of ours)."""
    return pyotp.TOTP(secret).at(world.clock.now())


async def enable_totp(world: World, me: LoginResult) -> tuple[str, list[str]]:
    """Enrol and confirm; return the secret and the recovery codes. Moves time one step on."""
    principal = await principal_of(world, me)
    enrolment = await world.afisha.totp.enrol(principal, PASSWORD)
    codes = await world.afisha.totp.confirm(principal, app_code(enrolment.secret, world))
    world.clock.advance(STEP)
    return enrolment.secret, codes


async def test_a_totp_user_cannot_log_in_without_a_valid_unused_code() -> None:
    world = World()
    me = await world.register()
    secret, _ = await enable_totp(world, me)
    name = me.user.username
    with pytest.raises(TotpRequired):
        await login(world, name)
    with pytest.raises(InvalidTotp):
        await world.afisha.sessions.login(name, PASSWORD, totp_code="000000")
    with pytest.raises(InvalidCredentials):  # the password still comes first
        await world.afisha.sessions.login(name, "wrong password", totp_code=app_code(secret, world))
    code = app_code(secret, world)
    result = await world.afisha.sessions.login(name, PASSWORD, totp_code=code)
    assert result.user.totp_enabled
    with pytest.raises(InvalidTotp):  # the same code, replayed within its window
        await world.afisha.sessions.login(name, PASSWORD, totp_code=code)
    world.clock.advance(STEP)
    with pytest.raises(InvalidTotp):  # an older code after a newer one was used
        await world.afisha.sessions.login(
            name, PASSWORD, totp_code=pyotp.TOTP(secret).at(world.clock.now() - STEP * 2)
        )
    await world.afisha.sessions.login(name, PASSWORD, totp_code=app_code(secret, world))


async def test_codes_one_step_old_or_ahead_are_accepted_older_ones_are_not() -> None:
    world = World()
    me = await world.register()
    secret, _ = await enable_totp(world, me)
    name = me.user.username
    world.clock.advance(STEP * 5)
    late = pyotp.TOTP(secret).at(world.clock.now() - STEP)
    await world.afisha.sessions.login(name, PASSWORD, totp_code=late)
    world.clock.advance(STEP * 5)
    stale = pyotp.TOTP(secret).at(world.clock.now() - STEP * 3)
    with pytest.raises(InvalidTotp):
        await world.afisha.sessions.login(name, PASSWORD, totp_code=stale)


async def test_each_recovery_code_works_once() -> None:
    world = World()
    me = await world.register()
    _, codes = await enable_totp(world, me)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    name = me.user.username
    for code in codes:
        await world.afisha.sessions.login(name, PASSWORD, totp_code=code)
        with pytest.raises(InvalidTotp):
            await world.afisha.sessions.login(name, PASSWORD, totp_code=code)
    # typed loosely: upper case, without the dash, with spaces around
    world2 = World()
    me2 = await world2.register()
    _, codes2 = await enable_totp(world2, me2)
    await world2.afisha.sessions.login(
        me2.user.username, PASSWORD, totp_code=f"  {codes2[0].replace('-', '').upper()} "
    )


async def test_recovery_codes_are_stored_hashed_and_the_secret_is_never_returned_again() -> None:
    world = World()
    me = await world.register()
    secret, codes = await enable_totp(world, me)
    async with world.db() as uow:
        stored = await uow.totp.list_recovery_codes(me.user.id)
    assert len(stored) == 10
    hashes = {c.code_hash for c in stored}
    assert not any(code in h or code.replace("-", "") in h for code in codes for h in hashes)
    user = await world.afisha.accounts.get_me(me.user)
    assert secret not in repr(user)
    assert user.totp_enabled
    principal = await principal_of(world, me)
    with pytest.raises(TotpAlreadyEnabled):  # no way to see the secret again
        await world.afisha.totp.enrol(principal, PASSWORD)


async def test_confirming_needs_the_right_code_and_ends_other_sessions() -> None:
    world = World()
    me = await world.register()
    other = await login(world, me.user.username)
    principal = await principal_of(world, me)
    with pytest.raises(TotpNotEnabled):
        await world.afisha.totp.confirm(principal, "123456")
    with pytest.raises(WrongCurrentPassword) as wrong:
        await world.afisha.totp.enrol(principal, "not my password")
    assert wrong.value.status == 403
    assert wrong.value.code == "invalid_credentials"
    enrolment = await world.afisha.totp.enrol(principal, PASSWORD)
    assert enrolment.otpauth_uri.startswith("otpauth://totp/")
    assert pyotp.parse_uri(enrolment.otpauth_uri).secret == enrolment.secret
    with pytest.raises(ValidationFailed):
        await world.afisha.totp.confirm(principal, "abc")
    wrong_code = "000000" if app_code(enrolment.secret, world) != "000000" else "111111"
    with pytest.raises(WrongTotp) as bad:
        await world.afisha.totp.confirm(principal, wrong_code)
    assert bad.value.status == 403
    assert bad.value.code == "invalid_totp"
    assert not (await stored_user(world, me.user.id)).totp_enabled
    # pending until confirmed: logging in needs no code yet
    await login(world, me.user.username)
    await world.afisha.totp.confirm(principal, app_code(enrolment.secret, world))
    assert (await stored_user(world, me.user.id)).totp_enabled
    await assert_token_rejected(world, other.token)
    await world.afisha.sessions.authenticate(me.token)  # the confirming session lives


async def test_enrolling_again_before_confirming_replaces_the_secret() -> None:
    world = World()
    me = await world.register()
    principal = await principal_of(world, me)
    first = await world.afisha.totp.enrol(principal, PASSWORD)
    second = await world.afisha.totp.enrol(principal, PASSWORD)
    assert first.secret != second.secret
    code = app_code(first.secret, world)
    if code != app_code(second.secret, world):
        with pytest.raises(WrongTotp):
            await world.afisha.totp.confirm(principal, code)
    await world.afisha.totp.confirm(principal, app_code(second.secret, world))


async def test_disabling_needs_password_and_an_unused_code() -> None:
    world = World()
    me = await world.register()
    secret, codes = await enable_totp(world, me)
    principal = await principal_of(world, me)
    code = app_code(secret, world)
    with pytest.raises(WrongCurrentPassword):
        await world.afisha.totp.disable(principal, "wrong password", code)
    await world.afisha.sessions.login(me.user.username, PASSWORD, totp_code=code)
    with pytest.raises(WrongTotp):  # used at login already
        await world.afisha.totp.disable(principal, PASSWORD, code)
    await world.afisha.totp.disable(principal, PASSWORD, codes[3])
    assert not (await stored_user(world, me.user.id)).totp_enabled
    async with world.db() as uow:
        assert await uow.totp.get(me.user.id) is None
        assert list(await uow.totp.list_recovery_codes(me.user.id)) == []
    await login(world, me.user.username)  # no code needed any more
    with pytest.raises(TotpNotEnabled):
        await world.afisha.totp.disable(principal, PASSWORD, codes[4])


async def test_wrong_codes_are_counted_by_the_login_limits() -> None:
    world = World()
    me = await world.register()
    secret, _ = await enable_totp(world, me)
    limit = world.settings.login_attempts_per_account
    world.clock.advance(limit.window)  # enrolling counted too: start a fresh window
    good = app_code(secret, world)
    wrong = [f"{n:06d}" for n in range(100) if f"{n:06d}" != good][: limit.count]
    for code in wrong:
        with pytest.raises(InvalidTotp):
            await world.afisha.sessions.login(me.user.username, PASSWORD, totp_code=code)
    with pytest.raises(RateLimited):  # even the right code is refused past the limit
        await world.afisha.sessions.login(me.user.username, PASSWORD, totp_code=good)
    async with world.db() as uow:
        failures = await uow.audit.list(
            AuditQuery(action=AuditAction.LOGIN_FAILED, target_id=me.user.id, limit=100)
        )
    assert len(failures) == limit.count
    assert all(f.details == {"reason": "totp"} for f in failures)


async def test_enabling_and_disabling_are_audited() -> None:
    world = World()
    me = await world.register()
    secret, _ = await enable_totp(world, me)
    principal = await principal_of(world, me)
    await world.afisha.totp.disable(
        principal, PASSWORD, app_code(secret, world), client_address="203.0.113.9"
    )
    async with world.db() as uow:
        entries = await uow.audit.list(AuditQuery(target_id=me.user.id, limit=10))
    actions = [e.action for e in entries]
    assert actions == [AuditAction.TOTP_DISABLED, AuditAction.TOTP_ENABLED]
    assert entries[0].actor_id == me.user.id
    assert entries[0].ip == "203.0.113.9"


async def test_an_administrator_is_a_user_for_totp() -> None:
    world = World()
    admin = await world.admin()
    me = await login(world, admin.username)
    assert me.user.role is Role.ADMINISTRATOR
    secret, _ = await enable_totp(world, me)
    with pytest.raises(TotpRequired):
        await login(world, admin.username)
    await world.afisha.sessions.login(admin.username, PASSWORD, totp_code=app_code(secret, world))


async def test_the_core_keeps_administrators_without_totp_out_when_required() -> None:
    world = World(settings=Settings(require_admin_totp=True))
    admin = await world.admin()
    me = await login(world, admin.username)
    with pytest.raises(TotpSetupRequired):
        await world.afisha.accounts.list_users(me.user)
    with pytest.raises(TotpSetupRequired):
        await world.event(me.user)
    with pytest.raises(TotpSetupRequired):
        await world.afisha.audit.list_entries(me.user)
    await enable_totp(world, me)
    enabled = await stored_user(world, admin.id)
    await world.afisha.accounts.list_users(enabled)
    await world.event(enabled)
    plain = await world.register()
    with pytest.raises(Forbidden):  # not an administrator at all: still forbidden
        await world.afisha.accounts.list_users(plain.user)
