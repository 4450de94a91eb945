"""Configuring the mailers: SMTP URLs, the From address, constructor checks."""

from __future__ import annotations

import re
from typing import Any

import pytest

from afisha_smtp import (
    DEFAULT_MAIL_FROM,
    Security,
    SmtpMailer,
    SmtpUrl,
    parse_mail_from,
    parse_smtp_url,
)

# --- SMTP URLs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail", SmtpUrl(host="mail", port=25, security=Security.PLAIN)),
        ("smtp://127.0.0.1:1025", SmtpUrl(host="127.0.0.1", port=1025, security=Security.PLAIN)),
        ("smtp://mail?starttls=true", SmtpUrl(host="mail", port=587, security=Security.STARTTLS)),
        ("smtp://mail:25?starttls=false", SmtpUrl(host="mail", port=25, security=Security.PLAIN)),
        ("smtps://mail", SmtpUrl(host="mail", port=465, security=Security.TLS)),
        (
            "SMTPS://Mail.Example.COM:2465/",
            SmtpUrl(host="mail.example.com", port=2465, security=Security.TLS),
        ),
        ("smtp://[::1]:2525", SmtpUrl(host="::1", port=2525, security=Security.PLAIN)),
        (
            "smtp://user:pw@mail:587?starttls=true&timeout=10",
            SmtpUrl(
                host="mail",
                port=587,
                security=Security.STARTTLS,
                username="user",
                password="pw",
                timeout=10.0,
            ),
        ),
        (
            "smtps://me%40example.com:p%40ss%3Aw%2Frd%25@mail?timeout=2.5&connect_timeout=1",
            SmtpUrl(
                host="mail",
                port=465,
                security=Security.TLS,
                username="me@example.com",
                password="p@ss:w/rd%",
                timeout=2.5,
                connect_timeout=1.0,
            ),
        ),
        (
            "smtp://user:@mail",
            SmtpUrl(host="mail", port=25, security=Security.PLAIN, username="user", password=""),
        ),
    ],
)
def test_smtp_urls_are_read(url: str, expected: SmtpUrl) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://mail:25", "the scheme must be smtp:// or smtps://, not 'http'"),
        ("mail:25", "the scheme must be smtp:// or smtps://"),
        ("smtp://", "the host is missing"),
        ("smtp://user:pw@:25", "the host is missing"),
        ("smtp://mail:http", "the port must be a number from 1 to 65535, not 'http'"),
        ("smtp://mail:70000", "the port must be a number from 1 to 65535, not '70000'"),
        ("smtp://mail:0", "the port must be a number from 1 to 65535, not 0"),
        ("smtp://mail/inbox", "the path '/inbox' is not allowed"),
        ("smtp://mail#top", "the fragment 'top' is not allowed"),
        ("smtp://mail?startls=true", "unknown parameter 'startls' (known: starttls, timeout"),
        ("smtp://mail?starttls=maybe", "starttls='maybe' must be true or false"),
        ("smtp://mail?timeout=soon", "timeout='soon' must be a positive number of seconds"),
        ("smtp://mail?timeout=0", "timeout='0' must be a positive number of seconds"),
        ("smtp://mail?timeout=nan", "timeout='nan' must be a positive number of seconds"),
        ("smtp://mail?connect_timeout=-1", "connect_timeout='-1' must be a positive number"),
        ("smtp://mail?timeout=1&timeout=2", "the parameter 'timeout' is given twice"),
        ("smtps://mail?starttls=true", "starttls=true contradicts smtps://"),
        ("smtp://user@mail", "the user 'user' has no password"),
        ("smtp://:pw@mail", "the user name before '@' is empty"),
    ],
)
def test_bad_smtp_urls_name_the_bad_part(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match="invalid SMTP URL") as caught:
        SmtpMailer.from_url(url)

    assert complaint in str(caught.value)


def test_errors_never_show_the_password() -> None:
    with pytest.raises(ValueError, match="unknown parameter") as caught:
        parse_smtp_url("smtp://ann:hunter2%21@mail:587?tls=yes")

    assert "hunter2" not in str(caught.value)
    assert "smtp://ann:***@mail:587?tls=yes" in str(caught.value)


def test_the_password_is_not_in_the_parsed_urls_repr() -> None:
    assert "hunter2" not in repr(parse_smtp_url("smtp://ann:hunter2@mail"))
    assert "hunter2" not in repr(SmtpMailer.from_url("smtp://ann:hunter2@mail"))


def test_from_url_configures_the_mailer() -> None:
    mailer = SmtpMailer.from_url(
        "smtp://ann:pw@mail.example.com?starttls=true", mail_from="Events <events@example.com>"
    )

    assert mailer.server == "mail.example.com:587"
    assert mailer.security is Security.STARTTLS
    assert mailer.mail_from == "Events <events@example.com>"


# --- the From address ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "display_name", "addr_spec"),
    [
        (DEFAULT_MAIL_FROM, "Afisha", "no-reply@localhost"),
        ("no-reply@example.com", "", "no-reply@example.com"),
        ("<no-reply@example.com>", "", "no-reply@example.com"),
        ('"Afisha, Moscow" <a@example.com>', "Afisha, Moscow", "a@example.com"),
        ("Афиша <no-reply@afisha.example>", "Афиша", "no-reply@afisha.example"),
        ("Afisha <events@пример.рф>", "Afisha", "events@xn--e1afmkfd.xn--p1ai"),
    ],
)
def test_mail_from_is_read(value: str, display_name: str, addr_spec: str) -> None:
    address = parse_mail_from(value)

    assert (address.display_name, address.addr_spec) == (display_name, addr_spec)


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("", "must be an address such as"),
        ("Afisha", "not a valid address"),
        ("Afisha <no-reply>", "not a valid address"),
        ("Afisha <a@example.com", "not a valid address"),
        ("a@example.com, b@example.com", "must be exactly one address"),
        ("Team: a@example.com;", "must be exactly one address"),
        ("Afisha <почта@example.com>", "not"),
        ("Afisha\r\nBcc: x@example.com <a@example.com>", "must not contain control characters"),
    ],
)
def test_a_bad_mail_from_is_refused_by_both_mailers(value: str, complaint: str) -> None:
    with pytest.raises(ValueError, match="the mail From") as caught:
        SmtpMailer("mail", mail_from=value)

    assert complaint in str(caught.value)


# --- constructor checks --------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"host": ""}, "host must be a host name or address"),
        ({"host": "mail\r\nRCPT TO:<x@y.z>"}, "host must be a host name or address"),
        ({"port": 0}, "port must be from 1 to 65535"),
        ({"port": 65536}, "port must be from 1 to 65535"),
        ({"username": "ann"}, "username and password go together"),
        ({"password": "pw"}, "username and password go together"),
        ({"username": "", "password": "pw"}, "username must not be empty"),
        ({"timeout": 0}, "timeout must be a positive number of seconds"),
        ({"connect_timeout": float("nan")}, "connect_timeout must be a positive number"),
    ],
)
def test_bad_constructor_arguments_are_refused(options: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        SmtpMailer(**({"host": "mail"} | options))


@pytest.mark.parametrize(
    ("security", "port"), [(Security.PLAIN, 25), (Security.STARTTLS, 587), (Security.TLS, 465)]
)
def test_the_default_port_follows_the_security(security: Security, port: int) -> None:
    assert SmtpMailer("mail", security=security).server == f"mail:{port}"
