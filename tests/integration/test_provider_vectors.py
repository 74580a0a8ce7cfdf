"""Every provider's vector table through the real ingest endpoint and a real SQLite store.

Each row of `tests/vectors/<provider>.json` is sent to `/hooks/<provider>` of the ASGI app
with the clock set to the row's `now`: authentic rows are answered 2xx and stored with the
provider's id and type, handshakes are answered and store nothing, and every refused row
gets its status (401 unless the row says otherwise) with nothing stored.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hookline.verify import VERIFIERS
from tests.support.hooks_app import hooks_app, stored

VECTORS = Path(__file__).parents[1] / "vectors"
TABLES: dict[str, dict[str, Any]] = {
    path.stem: json.loads(path.read_text("utf-8")) for path in sorted(VECTORS.glob("*.json"))
}


def _rows() -> list[Any]:
    return [
        pytest.param(provider, row, id=f"{provider}-{row['name']}")
        for provider, table in TABLES.items()
        for row in table["vectors"]
    ]


def expected_status(row: dict[str, Any]) -> int:
    status: int = row.get("status", 200 if row["error"] is None else 401)
    return status


def body_of(row: dict[str, Any]) -> bytes:
    return bytes.fromhex(row["body_hex"]) if "body_hex" in row else row["body"].encode()


class TestVectorsThroughIngest:
    @pytest.mark.parametrize(("provider", "row"), _rows())
    async def test_row(self, tmp_path: Path, provider: str, row: dict[str, Any]) -> None:
        """The endpoint answers the row's status; only authentic non-handshake rows are stored."""
        table = TABLES[provider]
        verify = {**table["config"], **row.get("config", {})}
        now = datetime.fromtimestamp(row.get("now", table["now"]), UTC)
        async with hooks_app(tmp_path, {provider: {"verify": verify}}, now=now) as (client, store):
            query = f"?{row['query']}" if "query" in row else ""
            response = await client.request(
                row.get("method", "POST"),
                f"/hooks/{provider}{query}",
                # Non-ASCII header values go out as UTF-8, as real clients send them.
                headers={k: v.encode() for k, v in row["headers"].items()},
                content=body_of(row),
            )
            assert response.status_code == expected_status(row), response.text
            events = await stored(store)
            if "reply" in row:
                assert response.text == row["reply"]
                assert events == []
            elif response.status_code == 200:
                (event,) = events
                assert {"id": event.id, "duplicate": False} == response.json()
                if "identity" in row:
                    assert {"external_id": event.external_id, "type": event.type} == row["identity"]
            else:
                assert events == []
                assert "error" in response.json()


class TestTables:
    def test_every_provider_has_a_table(self) -> None:
        """Each registered provider has a vectors file, and each file names a provider."""
        assert sorted(TABLES) == VERIFIERS.names()

    @pytest.mark.parametrize("provider", sorted(TABLES))
    def test_rows_cover_the_required_cases(self, provider: str) -> None:
        """Every table has a valid, a refused and a non-UTF-8 row, each named and commented."""
        rows = TABLES[provider]["vectors"]
        names = [row["name"] for row in rows]
        assert len(names) == len(set(names))
        assert all(row["comment"].strip() for row in rows)
        assert any(expected_status(row) == 200 and "reply" not in row for row in rows)
        assert any(name.startswith("non-utf8") for name in names)
        if provider != "none":
            assert {"tampered-body", "wrong-secret", "missing-header"} <= {
                n.removesuffix("-not-covered") for n in names
            }
