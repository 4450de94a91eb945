"""Everything a person reads is in their language: emails and notifications, ru and en."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from afisha_core import EventDraft, EventPatch, Settings, ValidationFailed
from afisha_core.domain import Email, User
from afisha_core.i18n import Translator, format_period
from afisha_core.usecases import messages
from tests.support.world import World

PUBLIC_URL = "https://afisha.example.org"
# Friday 4 December 2026, 19:00-21:00 in Moscow (UTC+3).
STARTS_AT = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
ENDS_AT = STARTS_AT + timedelta(hours=2)
# CLDR puts a narrow no-break space before the year mark «г.».
RU_WHEN = "пятница, 4 декабря 2026\u202fг., 19:00–21:00 (Москва)"
EN_WHEN = "Friday, December 4, 2026, 7:00\u202fPM–9:00\u202fPM (Moscow)"


@pytest.fixture
def world() -> World:
    """A world whose clock is before the event and whose links go to a public URL."""
    w = World(settings=Settings(public_url=PUBLIC_URL))
    w.clock.set(STARTS_AT - timedelta(days=10))
    return w


def to(mails: list[Email], user: User) -> list[Email]:
    return [m for m in mails if m.to == user.email]


def test_dates_follow_cldr_in_the_events_zone() -> None:
    assert format_period(STARTS_AT, ENDS_AT, "Europe/Moscow", "ru") == RU_WHEN
    assert format_period(STARTS_AT, ENDS_AT, "Europe/Moscow", "en") == EN_WHEN


@pytest.mark.parametrize(
    ("count", "word"), [(1, "1 минуту"), (3, "3 минуты"), (5, "5 минут"), (21, "21 минуту")]
)
def test_russian_counts_take_the_right_plural_form(count: int, word: str) -> None:
    message = messages.registration_code(
        "Анна", "123456", timedelta(minutes=count), Settings(), "ru"
    )
    assert f"Он действует {word}." in message.text


async def test_the_code_email_is_in_the_language_chosen_at_registration(world: World) -> None:
    ru = await world.register(locale="ru", full_name="Анна Петрова")
    en = await world.register(locale="en")
    assert ru.user.locale == "ru"
    assert en.user.locale == "en"
    (ru_mail,) = to(world.mailer.sent, ru.user)
    (en_mail,) = to(world.mailer.sent, en.user)
    assert ru_mail.subject == "Код подтверждения Afisha"
    assert ru_mail.text.startswith("Здравствуйте, Анна Петрова!\n\nВаш код подтверждения: ")
    assert "Он действует 15 минут." in ru_mail.text
    assert 'lang="ru"' in (ru_mail.html or "")
    assert en_mail.subject == "Your Afisha verification code"
    assert "It is valid for 15 minutes." in en_mail.text


async def test_the_default_language_is_the_deployments(world: World) -> None:
    w = World(settings=Settings(default_locale="ru"))
    login = await w.register()
    assert login.user.locale == "ru"


async def test_an_unknown_language_is_refused_with_a_code(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await world.afisha.accounts.register(
            "x@example.org", "xxx", "X", "pw-long-enough-1", locale="xx"
        )
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("locale", "unsupported_locale")


async def test_event_messages_reach_each_person_in_their_language(world: World) -> None:
    admin = await world.admin()
    ru = (await world.register(locale="ru")).user
    en = (await world.register(locale="en")).user
    waiting_ru = (await world.register(locale="ru")).user
    view = await world.afisha.events.create(
        admin,
        EventDraft(
            name="Джазовый вечер",
            starts_at=STARTS_AT,
            ends_at=ENDS_AT,
            timezone="Europe/Moscow",
            location="Клуб «Синяя птица»",
            max_participants_count=2,
        ),
    )
    event_id = view.event.id
    await world.afisha.participation.join(ru, event_id)
    await world.afisha.participation.join(en, event_id)
    await world.afisha.participation.join(waiting_ru, event_id, waitlist=True)
    await world.deliver()

    # waitlist: the English participant leaves, the Russian waiting one gets the spot
    await world.afisha.participation.leave(en, event_id)
    # change: a new place
    await world.afisha.events.update(admin, event_id, EventPatch(location="ДК «Москворечье»"))
    # reminder
    world.clock.set(STARTS_AT - timedelta(hours=20))
    assert await world.afisha.reminders.send_due() == 2
    # cancellation
    await world.afisha.events.reject(admin, event_id, "Болезнь артиста")
    mails = await world.deliver()

    promoted = {m.subject: m for m in to(mails, waiting_ru)}
    subjects = {
        "Для вас освободилось место: «Джазовый вечер»",
        "Изменения: «Джазовый вечер»",
        "Напоминание: «Джазовый вечер»",
        "Отменено: «Джазовый вечер»",
    }
    assert set(promoted) == subjects
    waitlist, changed, reminder, cancelled = (promoted[s] for s in sorted(subjects))
    assert "На «Джазовый вечер» освободилось место, и оно ваше" in waitlist.text
    assert f"Когда: {RU_WHEN}" in waitlist.text
    assert "Где: ДК «Москворечье» (было: Клуб «Синяя птица»)" in changed.text
    assert "Скоро начнётся «Джазовый вечер»." in reminder.text
    assert f"Мероприятие «Джазовый вечер» ({RU_WHEN}) отменено." in cancelled.text
    assert "Причина: Болезнь артиста" in cancelled.text
    for mail in promoted.values():
        assert f"Открыть страницу мероприятия:\n{PUBLIC_URL}/events/{event_id}" in mail.text
        assert f'href="{PUBLIC_URL}/events/{event_id}"' in (mail.html or "")
        assert "has changed" not in mail.text

    notes = await world.afisha.notifications.list_notifications(waiting_ru, limit=10)
    assert {n.title for n in notes.items} == subjects
    assert all(n.cta_label == "Открыть страницу мероприятия" for n in notes.items)

    # The English participant left before the change: only the Russian ones are told.
    assert [m.subject for m in to(mails, en)] == []
    assert "Отменено: «Джазовый вечер»" in {m.subject for m in to(mails, ru)}


async def test_an_english_participant_reads_english(world: World) -> None:
    admin = await world.admin()
    en = (await world.register(locale="en")).user
    view = await world.afisha.events.create(
        admin,
        EventDraft(
            name="Jazz night", starts_at=STARTS_AT, ends_at=ENDS_AT, timezone="Europe/Moscow"
        ),
    )
    await world.afisha.participation.join(en, view.event.id)
    await world.afisha.events.reject(admin, view.event.id, None)
    (mail,) = to(await world.deliver(), en)
    assert mail.subject == "Cancelled: Jazz night"
    assert mail.text.startswith(f"Jazz night ({EN_WHEN}) has been cancelled.")


async def test_recovery_mail_follows_the_users_language(world: World) -> None:
    ru = (await world.register(locale="ru", full_name="Анна")).user
    await world.afisha.recovery.request(ru.email)
    (mail,) = to(await world.deliver(), ru)
    assert mail.subject == "Восстановление пароля Afisha"
    assert mail.text.startswith("Здравствуйте, Анна!\n\nчтобы задать новый пароль")
    assert "в течение 60 минут" in mail.text
    assert f"Задать новый пароль:\n{PUBLIC_URL}/password-recovery/" in mail.text


async def test_recovery_for_an_unknown_address_follows_the_callers_language(world: World) -> None:
    await world.afisha.recovery.request("nobody@example.org", locale="ru")
    (mail,) = await world.deliver()
    assert "учётной записи с ним нет" in mail.text


async def test_a_user_changes_their_language(world: World) -> None:
    login = await world.register(locale="en")
    user = await world.afisha.accounts.update_profile(login.user, locale="ru")
    assert user.locale == "ru"
    assert (await world.afisha.accounts.get_me(user)).locale == "ru"


async def test_an_embedder_overrides_a_text_and_adds_a_language(tmp_path: Path) -> None:
    en_dir = tmp_path / "en" / "LC_MESSAGES"
    de_dir = tmp_path / "de" / "LC_MESSAGES"
    en_dir.mkdir(parents=True)
    de_dir.mkdir(parents=True)
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    (en_dir / "afisha.po").write_text(
        header + 'msgid "email.reminder.subject"\nmsgstr "Don\'t miss {name}!"\n',
        encoding="utf-8",
    )
    (de_dir / "afisha.po").write_text(
        header + 'msgid "email.reminder.subject"\nmsgstr "Erinnerung: {name}"\n',
        encoding="utf-8",
    )
    settings = Settings(locale_dirs=(str(tmp_path),))
    world = World(settings=settings)
    assert "de" in Translator([tmp_path]).locales
    login = await world.register(locale="de")
    assert login.user.locale == "de"
    admin = await world.admin()
    event = await world.event(admin, name="Jazz", starts_in=timedelta(hours=2))
    await world.afisha.participation.join(login.user, event.event.id)
    english = (await world.register(locale="en")).user
    await world.afisha.participation.join(english, event.event.id)
    await world.afisha.reminders.send_due()
    mails = await world.deliver()
    assert [m.subject for m in to(mails, login.user)] == ["Erinnerung: Jazz"]
    # German lacks the body: it falls back to English; dates are German CLDR.
    (german,) = to(mails, login.user)
    assert "Jazz starts soon." in german.text
    assert [m.subject for m in to(mails, english)] == ["Don't miss Jazz!"]
