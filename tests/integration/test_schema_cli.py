"""The schema as the CLI meets it: `run` creates a new one, nothing upgrades one silently."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hookline.errors import ConfigError
from hookline.store.base import migrations, open_store
from tests.integration.test_migrations import make_old
from tests.support.postgres import fetch
from tests.support.process import free_port, hookline

pytestmark = pytest.mark.slow
CONFIG = "sources: {forms: {verify: {provider: none}}}\napi: {token: 0123456789abcdef0123}\n"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "hookline.yaml"
    path.write_text(CONFIG)
    return path


class TestStartupRefusals:
    @pytest.mark.parametrize("command", ["run", "serve"])
    async def test_schema_behind_is_refused_with_the_fix(self, config: Path, command: str):
        """`run` and `serve` on an old database exit non-zero and name `hookline migrate`."""
        database = config.parent / "old.db"
        await make_old("sqlite", str(database))
        done = hookline(command, "-c", str(config), "--database", str(database),
                        "--port", str(free_port()))  # fmt: skip
        assert done.returncode != 0
        assert "behind" in done.stderr and "run `hookline migrate` first" in done.stderr

    def test_worker_refuses_an_empty_database(self, config: Path):
        """A worker on a database with no schema says which command fixes it."""
        done = hookline("worker", "-c", str(config), "--database", str(config.parent / "n.db"))
        assert done.returncode == 1
        assert "no Hookline schema yet; run `hookline migrate` first" in done.stderr

    async def test_migrate_then_the_same_database_is_accepted(self, config: Path):
        """`hookline migrate` upgrades an old database; it then opens without migrating."""
        database = config.parent / "old.db"
        await make_old("sqlite", str(database))
        done = hookline("migrate", "-c", str(config), "--database", str(database))
        assert done.returncode == 0 and "up to date" in done.stdout
        store = open_store(str(database))
        await store.open(migrate=False)
        await store.aclose()


@pytest.mark.postgres
class TestPostgresUrl:
    async def test_migrate_by_url(self, config: Path, postgres):
        """`hookline migrate --database postgresql://…` gives an empty database the schema."""
        url = await postgres.empty()
        try:
            done = hookline("migrate", "-c", str(config), "--database", url)
            assert done.returncode == 0, done.stderr
            rows = await fetch(url, "SELECT version FROM schema_migrations ORDER BY version")
            assert [r["version"] for r in rows] == [m.version for m in migrations("postgres")]
        finally:
            await postgres.drop(url)

    def test_pool_size_is_validated(self):
        """A pool size that is not a positive number is a config error on `database`."""
        with pytest.raises(ConfigError, match="pool_size"):
            open_store("postgresql://localhost/x?pool_size=zero")


class TestDriver:
    def test_missing_driver_names_the_extra(self, monkeypatch: pytest.MonkeyPatch):
        """Without asyncpg, a PostgreSQL URL says how to install the driver."""
        monkeypatch.setitem(sys.modules, "asyncpg", None)  # what `import asyncpg` finds missing
        monkeypatch.delitem(sys.modules, "hookline.store.postgres", raising=False)
        with pytest.raises(ConfigError, match=r"pip install 'hookline\[postgres\]'"):
            open_store("postgresql://localhost/hookline")
