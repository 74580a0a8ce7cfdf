"""The `hookline` command as a user meets it: init, check, token generation, inspection."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from hookline.app import create_app
from hookline.cli import app
from hookline.config.loader import loads
from hookline.runtime import Runtime
from hookline.store.sqlite import SqliteStore
from tests.conftest import stripe_event, stripe_headers

runner = CliRunner()


class TestInitAndCheck:
    def test_init_writes_a_sample_that_checks(self, tmp_path: Path):
        """`init` writes the commented sample, and `check` accepts it as written."""
        path = tmp_path / "hookline.yaml"
        assert runner.invoke(app, ["init", str(path)]).exit_code == 0
        assert "# " in path.read_text()
        result = runner.invoke(app, ["check", "-c", str(path)])
        assert result.exit_code == 0, result.output
        assert "OK (1 source(s), 1 route(s))" in result.output

    def test_init_refuses_to_overwrite(self, tmp_path: Path):
        """`init` leaves an existing file alone unless told --force."""
        path = tmp_path / "hookline.yaml"
        path.write_text("mine")
        assert runner.invoke(app, ["init", str(path)]).exit_code == 2
        assert path.read_text() == "mine"
        assert runner.invoke(app, ["init", str(path), "--force"]).exit_code == 0

    def test_check_reports_every_error_located_and_exits_2(self, tmp_path: Path):
        """A broken config lists each problem as file:line: key.path: message, exit code 2."""
        path = tmp_path / "bad.yaml"
        path.write_text(
            "sources:\n"
            "  stripe:\n"
            '    verify: {provider: stripe, secret: "${HOOKLINE_TEST_UNSET_VAR}"}\n'
            "routes:\n"
            "  - name: r\n"
            "    source: stripe\n"
            '    if: "event.type =="\n'
            "    actions:\n"
            "      - telegram: {token: t, chat_id: 1, text: hi, colour: red}\n"
            "delivery: {timeout: soon}\n"
        )
        result = runner.invoke(app, ["check", "-c", str(path)])
        assert result.exit_code == 2
        lines = result.output.strip().splitlines()
        assert lines == [
            f"{path}:3: sources.stripe.verify.secret: "
            "environment variable HOOKLINE_TEST_UNSET_VAR is not set",
            f"{path}:7: routes[0].if: syntax error: unexpected 'end of template' (template line 1)",
            f"{path}:9: routes[0].actions[0].telegram.colour: unknown key",
            f"{path}:10: delivery.timeout: expected a duration such as 10s, 5m or 1h, got 'soon'",
        ]

    def test_check_of_missing_file(self, tmp_path: Path):
        """A config file that does not exist is a located error, exit code 2."""
        result = runner.invoke(app, ["check", "-c", str(tmp_path / "nope.yaml")])
        assert result.exit_code == 2
        assert "nope.yaml: cannot read" in result.output

    def test_check_warns_about_unauthenticated_sources(self, tmp_path: Path):
        """A source with provider none passes, with a warning that it accepts anyone."""
        path = tmp_path / "open.yaml"
        path.write_text("sources: {open: {verify: {provider: none}}}\n")
        result = runner.invoke(app, ["check", "-c", str(path)])
        assert result.exit_code == 0
        assert "accepts unauthenticated requests" in result.output


CONFIG = """
sources:
  stripe: {verify: {provider: stripe, secret: "whsec_test_0123456789abcdefghijklmnop"}}
"""


class TestApiToken:
    async def test_generated_once_printed_once_and_kept(self, tmp_path: Path, capsys):
        """Without api.token, a token is generated, printed once, and accepted after restart."""
        config = loads(CONFIG, file="t.yaml", environ={})
        runtime = Runtime(config, SqliteStore(tmp_path / "h.db"), with_worker=False)
        await runtime.start()
        await runtime.stop()
        printed = capsys.readouterr().err
        token = printed.strip().splitlines()[-1].strip()
        assert "shown only this once" in printed and len(token) >= 32

        again = Runtime(config, SqliteStore(tmp_path / "h.db"), with_worker=False)
        await again.start()
        try:
            assert token not in capsys.readouterr().err
            transport = httpx.ASGITransport(app=create_app(again))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                ok = await client.get("/api/events", headers={"Authorization": f"Bearer {token}"})
                assert ok.status_code == 200
                bad = await client.get("/api/events", headers={"Authorization": "Bearer x" * 2})
                assert bad.status_code == 401
        finally:
            await again.stop()


class TestStorageDown:
    async def test_ingest_answers_503_when_the_store_is_gone(self, tmp_path: Path):
        """When the store cannot commit, the sender gets 503 (retry later), never a 2xx."""
        config = loads(CONFIG, file="t.yaml", environ={})
        store = SqliteStore(tmp_path / "h.db")
        runtime = Runtime(config, store, with_worker=False)
        await runtime.start()
        await store.aclose()  # the database goes away under a running server
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            body = stripe_event("evt_503")
            headers = stripe_headers(body, secret="whsec_test_0123456789abcdefghijklmnop")
            response = await client.post("/hooks/stripe", content=body, headers=headers)
        assert response.status_code == 503
        error = response.json()["error"]
        assert error == {"code": "storage_unavailable",  # the cause is for the log, not senders
                         "message": "storage is unavailable; retry later"}  # fmt: skip


@pytest.mark.parametrize("command", ["events", "event evt_x", "replay evt_x", "migrate"])
def test_commands_need_a_valid_config(tmp_path: Path, command: str):
    """Every command that reads the config fails with exit code 2 on a broken one."""
    path = tmp_path / "bad.yaml"
    path.write_text("sources: [1]\n")
    result = runner.invoke(app, [*command.split(), "-c", str(path)])
    assert result.exit_code == 2
    assert "sources" in result.output


def test_database_password_is_not_printed(tmp_path: Path):
    """Starting against a PostgreSQL URL with a password prints the URL with the password masked."""
    from tests.support.process import hookline

    path = tmp_path / "hookline.yaml"
    path.write_text(CONFIG)
    url = "postgresql://hook:SuperSecretPw-123@127.0.0.1:1/db"
    result = hookline("serve", "-c", str(path), "--port", "0", env={"HOOKLINE_DATABASE_URL": url})
    assert result.returncode != 0  # nothing listens on port 1
    assert "SuperSecretPw-123" not in result.stdout + result.stderr
    assert "postgresql://hook:***@127.0.0.1:1/db" in result.stderr
