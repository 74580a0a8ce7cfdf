"""The `email` action: send a message over SMTP with aiosmtplib.

`smtp_url` says where and how, and is one secret because it carries the password:

    smtp://[user:pass@]host[:port]            plain SMTP, never TLS (default port 25);
                                              for a relay on a trusted network only
    smtp+starttls://[user:pass@]host[:port]   STARTTLS required; no upgrade, no send (587)
    smtps://[user:pass@]host[:port]           TLS from the first byte (465)

User and password are percent-decoded (`p%40ss` is `p@ss`). Certificates are verified
against the system store plus `ca_file` when given (a private CA or a self-signed server).
The host is checked by the outbound guard before connecting, like every other destination.
SMTP says what is transient itself: 4xx replies retry, 5xx replies give up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Annotated, ClassVar, Literal, Self
from urllib.parse import unquote, urlsplit

import aiosmtplib
from pydantic import BeforeValidator, ConfigDict, Field, SecretStr, field_validator, model_validator

from hookline.actions.base import (
    ActionConfig,
    ActionContext,
    GiveUp,
    Outcome,
    RetryLater,
    Succeeded,
    connection_failure,
)
from hookline.actions.outbound import DestinationRefusedError
from hookline.templating import Template

Security = Literal["plain", "starttls", "tls"]
_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("plain", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    security: Security
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """Parse `smtp_url`; errors never repeat the URL, which holds the password."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError("smtp_url must start with smtp://, smtp+starttls:// or smtps://")
    security, default_port = _SCHEMES[scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValueError("smtp_url has an invalid port") from None
    if not parts.hostname:
        raise ValueError("smtp_url has no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("smtp_url takes no path, query or fragment")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return SmtpTarget(parts.hostname, port, security, username, password)


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str | Template) else value


Addresses = Annotated[list[Template], BeforeValidator(_as_list)]


class EmailConfig(ActionConfig):
    """`email:` in a route. Addresses, subject and bodies are templates."""

    model_config = ConfigDict(hide_input_in_errors=True)  # never echo smtp_url back

    smtp_url: SecretStr
    from_: str = Field(alias="from")
    to: Addresses
    cc: Addresses = Field(default_factory=list)
    reply_to: Template | None = None
    subject: Template
    text: Template | None = None
    html: Template | None = None
    ca_file: str | None = None

    @field_validator("smtp_url")
    @classmethod
    def _valid_url(cls, value: SecretStr) -> SecretStr:
        parse_smtp_url(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _has_body(self) -> Self:
        if self.text is None and self.html is None:
            raise ValueError("give `text`, `html` or both")
        if not self.to:
            raise ValueError("`to` needs at least one address")
        return self


class EmailAction:
    name: ClassVar[str] = "email"
    config_model: ClassVar[type[EmailConfig]] = EmailConfig

    async def perform(self, config: EmailConfig, ctx: ActionContext) -> Outcome:
        target = parse_smtp_url(config.smtp_url.get_secret_value())
        message = _build_message(config, ctx)
        if isinstance(message, GiveUp):
            return message
        try:
            tls_context = _tls_context(config.ca_file) if target.security != "plain" else None
        except (OSError, ssl.SSLError) as exc:
            return GiveUp(f"cannot load ca_file {config.ca_file}: {exc}")
        try:
            addresses = await ctx.guard.resolve(target.host, target.port)
        except DestinationRefusedError as exc:
            return GiveUp(str(exc))
        except OSError as exc:
            return RetryLater(f"cannot resolve {target.host}: {exc}")
        outcome = await _send(target, addresses, message, tls_context, ctx.timeout)
        return _scrub(outcome, target.password)


def _build_message(config: EmailConfig, ctx: ActionContext) -> EmailMessage | GiveUp:
    """Render everything first: a template error propagates before any connection."""
    to = [t.render(ctx.render) for t in config.to]
    cc = [t.render(ctx.render) for t in config.cc]
    reply_to = config.reply_to.render(ctx.render) if config.reply_to else None
    subject = config.subject.render(ctx.render)
    text = config.text.render(ctx.render) if config.text else None
    html = config.html.render(ctx.render, escape="html") if config.html else None
    if not any(address for _, address in getaddresses(to)):
        return GiveUp("`to` rendered without any address")
    message = EmailMessage()
    try:  # header values with line breaks or bad addresses raise ValueError here
        message["From"] = config.from_
        message["To"] = ", ".join(a for a in to if a.strip())
        if any(a.strip() for a in cc):
            message["Cc"] = ", ".join(a for a in cc if a.strip())
        if reply_to:
            message["Reply-To"] = reply_to
        message["Subject"] = subject
        if text is not None:
            message.set_content(text)
        if html is not None:
            if text is None:
                message.set_content(html, subtype="html")
            else:
                message.add_alternative(html, subtype="html")
    except (ValueError, TypeError) as exc:
        return GiveUp(f"cannot build the message: {exc}")
    return message


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


async def _send(
    target: SmtpTarget,
    addresses: list[str],
    message: EmailMessage,
    tls: ssl.SSLContext | None,
    time_limit: timedelta,
) -> Outcome:
    timeout = time_limit.total_seconds()
    try:
        async with asyncio.timeout(timeout):
            # aiosmtplib would look this up itself after taking the socket; doing it first
            # leaves no await between connecting and handing the socket over, so a timeout
            # can never strand it. From then on the transport owns (and closes) the socket.
            local_hostname = await asyncio.to_thread(socket.getfqdn)
            client = aiosmtplib.SMTP(
                hostname=target.host,  # still the name: TLS verifies the certificate against it
                sock=await _connect(addresses, target.port),
                local_hostname=local_hostname,
                username=target.username,
                password=target.password,
                use_tls=target.security == "tls",
                start_tls=target.security == "starttls",
                tls_context=tls,
                timeout=timeout,
            )
            async with client:
                refused, reply = await client.send_message(message)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        return _refused(exc.recipients)
    except aiosmtplib.SMTPResponseException as exc:
        return _by_code(exc.code, exc.message, _stage(exc))
    except (OSError, TimeoutError) as exc:  # includes aiosmtplib's connect/disconnect/timeout
        return connection_failure(exc)
    except aiosmtplib.SMTPException as exc:  # no STARTTLS or AUTH offered, SMTPUTF8 missing...
        return GiveUp(f"the SMTP server cannot do what the action asks: {exc}")
    except ValueError as exc:  # an address aiosmtplib will not put on the wire
        return GiveUp(f"cannot send: {exc}")
    if refused:  # accepted for some recipients: retrying would send them a duplicate
        rejected = "; ".join(f"{rcpt}: {r.code} {r.message}" for rcpt, r in refused.items())
        return Succeeded(250, f"accepted, but refused for {rejected}")
    return Succeeded(250, reply)


async def _connect(addresses: list[str], port: int) -> socket.socket:
    """Connect to an address the guard checked, so DNS cannot change between check and use."""
    loop = asyncio.get_running_loop()
    error: OSError = OSError(f"no address to connect to on port {port}")
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (address, port))
        except OSError as exc:
            sock.close()
            error = exc
        except BaseException:
            sock.close()
            raise
        else:
            return sock
    raise error


def _stage(exc: aiosmtplib.SMTPResponseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return "authentication failed"
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return f"sender {exc.sender} refused"
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return "message refused"
    return "SMTP error"


def _by_code(code: int, text: str, stage: str) -> Outcome:
    """RFC 5321 §4.2.1: 4yz is a transient failure, 5yz a permanent one."""
    reason = f"{stage}: {code} {text}".strip()
    if 400 <= code < 500:
        return RetryLater(reason, status_code=code, excerpt=text)
    if 500 <= code < 600:
        return GiveUp(reason, status_code=code, excerpt=text)
    return RetryLater(f"{stage}: unexpected reply {code} {text}", status_code=code, excerpt=text)


def _refused(errors: list[aiosmtplib.SMTPRecipientRefused]) -> Outcome:
    """Every recipient refused: retry if any refusal was transient, else give up."""
    said = "; ".join(f"{e.recipient}: {e.code} {e.message}" for e in errors)
    transient = [e for e in errors if 400 <= e.code < 500]
    code = (transient or errors)[0].code
    if transient:
        return RetryLater(f"recipients refused: {said}", status_code=code, excerpt=said)
    return GiveUp(f"recipients refused: {said}", status_code=code, excerpt=said)


def _scrub(outcome: Outcome, password: str | None) -> Outcome:
    if not password or isinstance(outcome, Succeeded):
        return outcome
    said = outcome.excerpt.replace(password, "***") if outcome.excerpt else None
    return dataclasses.replace(
        outcome, reason=outcome.reason.replace(password, "***"), excerpt=said
    )
