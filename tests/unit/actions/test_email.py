"""The `email` action against real aiosmtpd servers: plain, STARTTLS, implicit TLS, AUTH.

TLS servers use a self-signed certificate for 127.0.0.1 made per test; the action trusts it
through the config's `ca_file`, the same key a user would set for a private CA.
"""

from __future__ import annotations

import email
import email.policy
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from pydantic import ValidationError

from hookline.actions import ACTIONS
from hookline.actions.base import ActionContext, GiveUp, RetryLater, Succeeded
from hookline.actions.email import EmailAction, EmailConfig, parse_smtp_url
from hookline.errors import TemplateError
from tests.unit.actions.conftest import MakeContext
from tests.unit.actions.test_classify import closed_port

PASSWORD = "p@ss:w/rd"  # written percent-encoded in URLs: p%40ss%3Aw%2Frd
ENCODED_PASSWORD = "p%40ss%3Aw%2Frd"


@dataclass
class Mailbox:
    """An aiosmtpd handler: refuses `refused@` (550) and `busy@` (451), keeps the rest."""

    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, _: Any
    ) -> str:
        if address.startswith("refused@"):
            return "550 5.1.1 <refused@example.com>: Recipient address rejected: User unknown"
        if address.startswith("busy@"):
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 2.0.0 Ok: queued as HOOKLINE1"


def authenticate(
    server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"mailer",
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    mailbox: Mailbox
    port: int
    cert_file: str | None = None


StartServer = Callable[..., SmtpServer]


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[str, str]:
    """A self-signed certificate and key for 127.0.0.1, valid for one day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hookline test smtp")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def smtp_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[StartServer]:
    """Start aiosmtpd servers on free ports: `tls` is None, "starttls" or "implicit"."""
    controllers: list[Controller] = []

    def start(*, tls: str | None = None, auth: bool = False) -> SmtpServer:
        mailbox, port = Mailbox(), closed_port()
        kwargs: dict[str, Any] = {}
        cert_file = None
        if tls:
            cert_file, key_file = request.getfixturevalue("tls_files")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert_file, key_file)
            kwargs = {"tls_context": context, "require_starttls": True}
            if tls == "implicit":
                kwargs = {"ssl_context": context}
        if auth:
            kwargs |= {"authenticator": authenticate, "auth_required": True}
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return SmtpServer(mailbox, port, cert_file)

    yield start
    for controller in controllers:
        controller.stop()


def config(**values: Any) -> EmailConfig:
    values.setdefault("from", "Hookline <hookline@example.com>")
    values.setdefault("to", "manager@example.com")
    values.setdefault("subject", "Order #{{ payload.data.object.metadata.order_id }} paid")
    values.setdefault("text", "{{ payload.data.object.metadata.client }} paid.")
    return EmailConfig.model_validate(values)


class TestEmailConfig:
    def test_registered(self) -> None:
        """The registry's `email` name loads this action."""
        assert ACTIONS.get("email") is EmailAction

    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("smtp://mail.example.com", ("mail.example.com", 25, "plain", None, None)),
            (
                "smtp+starttls://u:p%40ss@mx.example.com",
                ("mx.example.com", 587, "starttls", "u", "p@ss"),
            ),
            ("smtps://u@mx.example.com:2465", ("mx.example.com", 2465, "tls", "u", None)),
            ("SMTP://[::1]:2525", ("::1", 2525, "plain", None, None)),
        ],
    )
    def test_smtp_url_forms(self, url: str, expected: tuple[Any, ...]) -> None:
        """The scheme picks the security and default port; credentials are percent-decoded."""
        target = parse_smtp_url(url)
        assert (target.host, target.port, target.security, target.username, target.password) == (
            expected
        )

    @pytest.mark.parametrize(
        "url",
        [
            f"http://u:{ENCODED_PASSWORD}@mx.example.com",  # wrong scheme
            f"smtp://u:{ENCODED_PASSWORD}@:25",  # no host
            f"smtp://u:{ENCODED_PASSWORD}@mx.example.com:99999",  # bad port
            f"smtp://u:{ENCODED_PASSWORD}@mx.example.com/path",
        ],
    )
    def test_invalid_smtp_url_errors_hide_the_password(self, url: str) -> None:
        """A bad smtp_url is a config error that never repeats the password."""
        with pytest.raises(ValidationError) as error:
            config(smtp_url=url)
        assert ENCODED_PASSWORD not in str(error.value)
        assert PASSWORD not in str(error.value)

    @pytest.mark.parametrize(
        "values",
        [
            {"text": None},  # neither text nor html
            {"to": []},
            {"subject": "{{ broken"},
            {"bcc": "x@example.com"},  # unknown key
        ],
    )
    def test_invalid_configs_are_rejected(self, values: dict[str, Any]) -> None:
        """Missing bodies or recipients, template syntax errors and typos fail at load."""
        with pytest.raises(ValidationError):
            config(smtp_url="smtp://mx.example.com", **values)


class TestEmailAction:
    async def test_sends_plain_text(self, ctx: ActionContext, smtp_server: StartServer) -> None:
        """A rendered message reaches the server over plain SMTP."""
        server = smtp_server()
        cfg = config(smtp_url=f"smtp://127.0.0.1:{server.port}", cc=["boss@example.com"])
        outcome = await EmailAction().perform(cfg, ctx)
        assert outcome == Succeeded(250, "2.0.0 Ok: queued as HOOKLINE1")
        [(sender, rcpts, message)] = server.mailbox.received
        assert sender == "hookline@example.com"
        assert rcpts == ["manager@example.com", "boss@example.com"]
        assert message["Subject"] == "Order #123 paid"
        assert message.get_content().strip() == "Ivan paid."

    async def test_text_and_html_make_an_alternative(
        self, make_ctx: MakeContext, smtp_server: StartServer
    ) -> None:
        """Both bodies go as multipart/alternative; HTML values are escaped."""
        server = smtp_server()
        cfg = config(
            smtp_url=f"smtp://127.0.0.1:{server.port}",
            to=["{{ payload.email }}"],
            reply_to="{{ payload.email }}",
            text="Hi {{ payload.name }}",
            html="<p>Hi {{ payload.name }}</p>",
            subject="Hello",
        )
        async with make_ctx(payload={"email": "ivan@example.com", "name": "<Ivan>"}) as ctx:
            assert isinstance(await EmailAction().perform(cfg, ctx), Succeeded)
        [(_, rcpts, message)] = server.mailbox.received
        assert rcpts == ["ivan@example.com"]
        assert message.get_content_type() == "multipart/alternative"
        assert message["Reply-To"] == "ivan@example.com"
        html_part = message.get_body(("html",))
        assert html_part is not None
        assert html_part.get_content().strip() == "<p>Hi &lt;Ivan&gt;</p>"

    async def test_starttls_with_auth(self, ctx: ActionContext, smtp_server: StartServer) -> None:
        """STARTTLS upgrades the connection and the percent-decoded password logs in."""
        server = smtp_server(tls="starttls", auth=True)
        url = f"smtp+starttls://mailer:{ENCODED_PASSWORD}@127.0.0.1:{server.port}"
        outcome = await EmailAction().perform(config(smtp_url=url, ca_file=server.cert_file), ctx)
        assert isinstance(outcome, Succeeded), outcome
        assert len(server.mailbox.received) == 1

    async def test_implicit_tls(self, ctx: ActionContext, smtp_server: StartServer) -> None:
        """smtps:// speaks TLS from the first byte."""
        server = smtp_server(tls="implicit")
        url = f"smtps://127.0.0.1:{server.port}"
        outcome = await EmailAction().perform(config(smtp_url=url, ca_file=server.cert_file), ctx)
        assert isinstance(outcome, Succeeded), outcome
        assert len(server.mailbox.received) == 1

    async def test_untrusted_certificate_is_not_accepted(
        self, ctx: ActionContext, smtp_server: StartServer
    ) -> None:
        """Without the CA, a self-signed server certificate fails verification."""
        server = smtp_server(tls="implicit")
        outcome = await EmailAction().perform(
            config(smtp_url=f"smtps://127.0.0.1:{server.port}"), ctx
        )
        assert isinstance(outcome, RetryLater)
        assert "CERTIFICATE_VERIFY_FAILED" in outcome.reason
        assert server.mailbox.received == []

    async def test_auth_failure_gives_up_without_the_password(
        self, ctx: ActionContext, smtp_server: StartServer
    ) -> None:
        """Wrong credentials end the delivery with the server's reply, never the password."""
        server = smtp_server(tls="starttls", auth=True)
        url = f"smtp+starttls://mailer:wrong-{ENCODED_PASSWORD}@127.0.0.1:{server.port}"
        outcome = await EmailAction().perform(config(smtp_url=url, ca_file=server.cert_file), ctx)
        assert isinstance(outcome, GiveUp)
        assert outcome.reason.startswith("authentication failed: 535")
        assert PASSWORD not in f"{outcome.reason} {outcome.excerpt}"

    async def test_starttls_required_but_not_offered(
        self, ctx: ActionContext, smtp_server: StartServer
    ) -> None:
        """smtp+starttls:// never falls back to plain text when the server lacks STARTTLS."""
        server = smtp_server()
        outcome = await EmailAction().perform(
            config(smtp_url=f"smtp+starttls://127.0.0.1:{server.port}"), ctx
        )
        assert isinstance(outcome, GiveUp)
        assert "STARTTLS" in outcome.reason
        assert server.mailbox.received == []

    async def test_refused_recipient_gives_up(
        self, ctx: ActionContext, smtp_server: StartServer
    ) -> None:
        """A 550 for the only recipient is permanent and carries the server's message."""
        server = smtp_server()
        cfg = config(smtp_url=f"smtp://127.0.0.1:{server.port}", to="refused@example.com")
        outcome = await EmailAction().perform(cfg, ctx)
        assert isinstance(outcome, GiveUp)
        assert outcome.status_code == 550
        assert "User unknown" in outcome.reason

    async def test_busy_recipient_retries(
        self, ctx: ActionContext, smtp_server: StartServer
    ) -> None:
        """A 451 is transient: the delivery is retried."""
        server = smtp_server()
        cfg = config(smtp_url=f"smtp://127.0.0.1:{server.port}", to="busy@example.com")
        outcome = await EmailAction().perform(cfg, ctx)
        assert isinstance(outcome, RetryLater)
        assert outcome.status_code == 451

    async def test_partly_refused_is_a_success(
        self, ctx: ActionContext, smtp_server: StartServer
    ) -> None:
        """Accepted for some recipients: retrying would duplicate, so it succeeds with a note."""
        server = smtp_server()
        to = ["manager@example.com", "refused@example.com"]
        outcome = await EmailAction().perform(
            config(smtp_url=f"smtp://127.0.0.1:{server.port}", to=to), ctx
        )
        assert isinstance(outcome, Succeeded)
        assert outcome.excerpt is not None
        assert "refused@example.com: 550" in outcome.excerpt

    async def test_server_down_retries(self, ctx: ActionContext) -> None:
        """Nobody listening is retried later."""
        outcome = await EmailAction().perform(
            config(smtp_url=f"smtp://127.0.0.1:{closed_port()}"), ctx
        )
        assert isinstance(outcome, RetryLater)
        assert outcome.reason.startswith("connection failed")

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
    async def test_private_hosts_are_refused(
        self, guarded_ctx: ActionContext, smtp_server: StartServer, host: str
    ) -> None:
        """The guard refuses a loopback SMTP server unless private networks are allowed."""
        server = smtp_server()
        outcome = await EmailAction().perform(
            config(smtp_url=f"smtp://{host}:{server.port}"), guarded_ctx
        )
        assert isinstance(outcome, GiveUp)
        assert "allow_private_networks" in outcome.reason
        assert server.mailbox.received == []

    async def test_header_injection_gives_up(
        self, make_ctx: MakeContext, smtp_server: StartServer
    ) -> None:
        """A subject rendered with a line break is refused before connecting."""
        server = smtp_server()
        cfg = config(
            smtp_url=f"smtp://127.0.0.1:{server.port}", subject="{{ payload.s }}", text="x"
        )
        async with make_ctx(payload={"s": "hi\nBcc: victim@example.com"}) as ctx:
            outcome = await EmailAction().perform(cfg, ctx)
        assert isinstance(outcome, GiveUp)
        assert server.mailbox.received == []

    async def test_missing_ca_file_gives_up(self, ctx: ActionContext, tmp_path: Path) -> None:
        """A ca_file that cannot be read is a configuration problem, not a network one."""
        cfg = config(smtp_url="smtps://127.0.0.1:1", ca_file=str(tmp_path / "missing.pem"))
        outcome = await EmailAction().perform(cfg, ctx)
        assert isinstance(outcome, GiveUp)
        assert "ca_file" in outcome.reason

    async def test_template_errors_propagate(self, ctx: ActionContext) -> None:
        """A render error raises before any connection, for a dead delivery."""
        cfg = config(smtp_url=f"smtp://127.0.0.1:{closed_port()}", subject="{{ payload.x.y }}")
        with pytest.raises(TemplateError):
            await EmailAction().perform(cfg, ctx)
