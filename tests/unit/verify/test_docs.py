"""docs/providers.md covers every registered provider and every key of its config model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hookline.verify import VERIFIERS

DOCS = (Path(__file__).parents[3] / "docs" / "providers.md").read_text("utf-8")
README = (Path(__file__).parents[3] / "README.md").read_text("utf-8")


class TestProviderDocs:
    @pytest.mark.parametrize("provider", VERIFIERS.names())
    def test_provider_has_a_snippet(self, provider: str) -> None:
        """Each provider has a table row and a copy-paste `provider:` snippet."""
        assert f"| [`{provider}`]" in DOCS
        assert re.search(rf"provider: {re.escape(provider)}\b", DOCS)

    @pytest.mark.parametrize("provider", VERIFIERS.names())
    def test_every_config_key_is_mentioned(self, provider: str) -> None:
        """Every key a provider's config accepts appears in the docs."""
        for key in VERIFIERS.get(provider).config_model.model_fields:
            assert f"{key}:" in DOCS, key

    def test_readme_links_the_catalog(self) -> None:
        """The README's Providers section points at docs/providers.md."""
        assert "[docs/providers.md](docs/providers.md)" in README
