"""People's language over HTTP: registration, PATCH /v1/users/me, problem documents."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from tests.support.http import open_api
from tests.support.world import World

BAD_REGISTRATION = {
    "email": "not-an-email",
    "username": "anna",
    "full_name": "Anna",
    "password": "correct horse battery",
}


async def _register_and_confirm(api: Any, headers: dict[str, str], **extra: str) -> dict[str, Any]:
    email = f"{extra.pop('name', 'anna')}@example.org"
    body = {
        "email": email,
        "username": email.split("@", maxsplit=1)[0],
        "full_name": "Анна",
        "password": "correct horse battery",
        **extra,
    }
    started = await api.client.post("/v1/registrations", json=body, headers=headers)
    assert started.status_code == 202, started.text
    token = started.json()["registration_token"]
    code = await api.code_for(email)
    confirmed = await api.client.post(f"/v1/registrations/{token}/confirm", json={"code": code})
    assert confirmed.status_code == 201, confirmed.text
    result: dict[str, Any] = confirmed.json()
    return result


async def test_accept_language_sets_the_new_users_language(world: World) -> None:
    async with open_api(world) as api:
        login = await _register_and_confirm(api, {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
        auth = {"Authorization": f"Bearer {login['token']}"}
        me = await api.client.get("/v1/users/me", headers=auth)
        assert me.json()["locale"] == "ru"
        assert world.mailer.sent[-1].subject == "Код подтверждения Afisha"


async def test_the_body_wins_over_accept_language(world: World) -> None:
    async with open_api(world) as api:
        login = await _register_and_confirm(api, {"Accept-Language": "ru"}, locale="en")
        assert login["user"]["locale"] == "en"


async def test_without_either_the_default_is_english(world: World) -> None:
    async with open_api(world) as api:
        login = await _register_and_confirm(api, {})
        assert login["user"]["locale"] == "en"


async def test_patch_me_changes_the_language_and_refuses_unknown_ones(world: World) -> None:
    async with open_api(world) as api:
        login = await _register_and_confirm(api, {})
        auth = {"Authorization": f"Bearer {login['token']}"}
        changed = await api.client.patch("/v1/users/me", json={"locale": "ru"}, headers=auth)
        assert changed.status_code == 200
        assert changed.json()["locale"] == "ru"
        refused = await api.client.patch("/v1/users/me", json={"locale": "xx"}, headers=auth)
        assert refused.status_code == 422
        # The caller is now a Russian reader: the problem is in Russian.
        assert refused.headers["content-language"] == "ru"
        (error,) = refused.json()["errors"]
        assert error["field"] == "locale"
        assert error["code"] == "unsupported_locale"
        assert error["message"] == "Поле «locale»: этот язык не поддерживается"


async def test_a_422_is_russian_for_a_russian_caller_with_the_same_codes(world: World) -> None:
    async with open_api(world) as api:
        en = await api.client.post("/v1/registrations", json=BAD_REGISTRATION)
        ru = await api.client.post(
            "/v1/registrations", json=BAD_REGISTRATION, headers={"Accept-Language": "ru"}
        )
    assert en.status_code == ru.status_code == 422
    assert en.headers["content-language"] == "en"
    assert ru.headers["content-language"] == "ru"
    assert en.json()["code"] == ru.json()["code"] == "validation_error"
    assert ru.json()["detail"] == "Данные не прошли проверку."
    assert en.json()["errors"] == [
        {"field": "email", "code": "invalid_email", "message": "email is not a valid email address"}
    ]
    assert ru.json()["errors"] == [
        {
            "field": "email",
            "code": "invalid_email",
            "message": "Поле «email»: некорректный адрес электронной почты",
        }
    ]


async def test_an_ends_at_before_starts_at_has_the_before_start_code(world: World) -> None:
    async with open_api(world) as api:
        admin = await api.admin()
        body = {
            "name": "Вечер",
            "starts_at": "2030-01-01T19:00:00+03:00",
            "ends_at": "2030-01-01T18:00:00+03:00",
        }
        # An authenticated caller reads their own language, whatever the header says.
        await api.client.patch("/v1/users/me", json={"locale": "ru"}, headers=admin.headers)
        answer = await api.client.post(
            "/v1/events", json=body, headers={**admin.headers, "Accept-Language": "en"}
        )
    assert answer.status_code == 422
    assert {"field": "ends_at", "code": "before_start"}.items() <= answer.json()["errors"][
        0
    ].items()
    assert answer.json()["errors"][0]["message"] == (
        "Поле «ends_at»: окончание должно быть позже начала"
    )


async def test_other_problems_follow_the_callers_language(world: World) -> None:
    async with open_api(world) as api:
        missing = await api.client.get(
            "/v1/events/00000000-0000-0000-0000-000000000000", headers={"Accept-Language": "ru"}
        )
        unrouted = await api.client.get("/v1/nowhere", headers={"Accept-Language": "ru"})
    assert missing.status_code == unrouted.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert missing.json()["detail"] == "Не найдено."
    assert unrouted.json()["detail"] == "Не найдено."
    assert missing.headers["content-language"] == "ru"


async def test_the_pages_are_in_the_readers_language(world: World) -> None:
    async with open_api(world) as api:
        admin = await api.admin()
        event = await api.create_event(
            admin,
            name="Джазовый вечер",
            starts_in=timedelta(days=2),
            max_participants_count=5,
            timezone="Europe/Moscow",
        )
        (guest,) = await api.users(1)
        await api.join(guest, event["id"])
        ru_home = await api.client.get("/", headers={"Accept-Language": "ru"})
        en_home = await api.client.get("/?lang=en", headers={"Accept-Language": "ru"})
        ru_page = await api.client.get(f"/events/{event['id']}?lang=ru")
        await api.client.post(f"/v1/events/{event['id']}/reject", json={}, headers=admin.headers)
        cancelled = await api.client.get(
            f"/events/{event['id']}", headers={"Accept-Language": "ru"}
        )
    assert ru_home.status_code == en_home.status_code == 200
    assert ru_home.headers["content-language"] == "ru"
    assert "Afisha: ближайшие мероприятия" in ru_home.text
    assert f'href="/events/{event["id"]}"' in ru_home.text
    assert "Afisha: upcoming events" in en_home.text
    assert en_home.headers["content-language"] == "en"
    assert ru_page.status_code == 200
    assert "осталось 4 места из 5" in ru_page.text
    assert "Добавить в календарь (.ics)" in ru_page.text
    assert '<html lang="ru">' in ru_page.text
    assert cancelled.status_code == 200
    assert "Мероприятие отменено" in cancelled.text


async def test_the_recovery_page_works_without_javascript_in_russian(world: World) -> None:
    async with open_api(world) as api:
        login = await _register_and_confirm(api, {"Accept-Language": "ru"}, name="vera")
        await api.client.post("/v1/password-recovery", json={"email": "vera@example.org"})
        await world.deliver()
        mail = world.mailer.sent[-1]
        assert mail.subject == "Восстановление пароля Afisha"
        link = next(line for line in mail.text.splitlines() if "/password-recovery/" in line)
        path = link[link.index("/password-recovery/") :]
        page = await api.client.get(path, headers={"Accept-Language": "ru"})
        assert page.status_code == 200
        assert "<script" not in page.text
        assert '<form method="post">' in page.text
        assert "Новый пароль (не короче 8 символов)" in page.text
        weak = await api.client.post(
            path, data={"password": "short"}, headers={"Accept-Language": "ru"}
        )
        assert weak.status_code == 422
        assert "Пароль слишком простой." in weak.text
        done = await api.client.post(
            path, data={"password": "a much better password"}, headers={"Accept-Language": "ru"}
        )
        assert done.status_code == 200
        assert "Готово: войдите с новым паролем." in done.text
        again = await api.client.post(path, data={"password": "another good password"})
        assert again.status_code == 404
        assert "The recovery link is invalid or has expired." in again.text
        relog = await api.client.post(
            "/v1/sessions", json={"login": "vera", "password": "a much better password"}
        )
        assert relog.status_code == 201, relog.text
        assert login["user"]["locale"] == "ru"


async def test_every_link_in_every_email_opens_a_page_for_people(world: World) -> None:
    async with open_api(world) as api:
        admin = await api.admin()
        (guest,) = await api.users(1)
        event = await api.create_event(admin, starts_in=timedelta(hours=3))
        await api.join(guest, event["id"])
        # account_exists (home link), recovery for no account (home link), recovery link
        again = {
            "email": guest.email,
            "username": "other",
            "full_name": "X",
            "password": "correct horse battery",
        }
        await api.client.post("/v1/registrations", json=again)
        await api.client.post("/v1/password-recovery", json={"email": "nobody@example.org"})
        await api.client.post("/v1/password-recovery", json={"email": guest.email})
        # event changed, reminder, cancelled (event links)
        await api.client.patch(
            f"/v1/events/{event['id']}", json={"location": "Hall 2"}, headers=admin.headers
        )
        await world.afisha.reminders.send_due()
        await api.client.post(f"/v1/events/{event['id']}/reject", json={}, headers=admin.headers)
        await world.deliver()
        links = {
            url
            for mail in world.mailer.sent
            for url in re.findall(r"https?://[^\s\"<>]+", mail.text + (mail.html or ""))
        }
        kinds = {url.split("/")[3] for url in links}
        assert kinds >= {"", "events", "password-recovery"}
        for url in links:
            path = "/" + url.split("/", 3)[3]
            page = await api.client.get(path, headers={"Accept-Language": "ru"})
            assert page.status_code == 200, (url, page.text[:200])
            assert page.headers["content-type"].startswith("text/html"), url


async def test_a_wrong_code_counts_attempts_in_russian(world: World) -> None:
    async with open_api(world) as api:
        body = {
            "email": "ivan@example.org",
            "username": "ivan",
            "full_name": "Иван",
            "password": "correct horse battery",
        }
        started = await api.client.post(
            "/v1/registrations", json=body, headers={"Accept-Language": "ru"}
        )
        token = started.json()["registration_token"]
        code = await api.code_for("ivan@example.org")
        wrong = "000000" if code != "000000" else "111111"
        answer = await api.client.post(
            f"/v1/registrations/{token}/confirm",
            json={"code": wrong},
            headers={"Accept-Language": "ru"},
        )
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_code"
    assert answer.json()["detail"] == "Неверный код подтверждения; осталось 4 попытки."
