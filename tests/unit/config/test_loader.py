"""The config loader: YAML, `${VAR}` interpolation, validation and located error messages."""

from __future__ import annotations

import re
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from textwrap import dedent

import pytest
from pydantic import BaseModel

from hookline.actions.email import EmailConfig
from hookline.actions.http import HttpConfig
from hookline.actions.telegram import TelegramConfig
from hookline.config.loader import load, loads
from hookline.config.models import (
    DEFAULT_MAX_BODY_SIZE,
    ApiModel,
    Config,
    DeliveryModel,
    RetentionModel,
    ServerModel,
)
from hookline.deliver.retry import RetryPolicy
from hookline.errors import ConfigErrors
from hookline.templating import Condition, Template
from hookline.verify.hmac import HmacConfig
from hookline.verify.none import NoneConfig
from hookline.verify.stripe import StripeConfig

SAMPLE = files("hookline").joinpath("sample.yaml").read_text("utf-8")

# A small valid config that tests extend; line numbers below count from its first line.
BASE = dedent("""\
    sources:
      shop:
        verify: {provider: none}
    routes:
      - name: notify
        source: shop
        actions:
          - telegram: {token: "123:abc", chat_id: 1, text: hi}
    """)


def _load(text: str, environ: dict[str, str] | None = None) -> Config:
    return loads(dedent(text), file="x.yaml", environ=environ or {})


def _errors(text: str, environ: dict[str, str] | None = None) -> list[str]:
    """The formatted errors of a config that must fail to load."""
    with pytest.raises(ConfigErrors) as info:
        _load(text, environ)
    assert str(info.value) == "\n".join(str(e) for e in info.value.errors)
    return [str(e) for e in info.value.errors]


def _section(text: str, name: str) -> str:
    """The lines of a top-level section of a YAML text, comments included."""
    lines = text.splitlines()
    start = lines.index(f"{name}:")
    body = []
    for line in lines[start + 1 :]:
        if line and not line[0].isspace():
            break
        body.append(line)
    return "\n".join(body)


def _mentions(text: str, field: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(field)}:", text) is not None


class TestSampleConfig:
    def test_loads_with_an_empty_environment(self) -> None:
        """The sample written by `hookline init` is valid as it is, with no variable set."""
        config = loads(SAMPLE, file="sample.yaml", environ={})

        assert list(config.sources) == ["stripe"]
        assert isinstance(config.sources["stripe"].verify, StripeConfig)
        route = config.route("payment-to-manager")
        assert route is not None
        assert [a.name for a in route.actions] == ["telegram"]
        assert config.api.token is None

    def test_loads_from_a_file(self, tmp_path: Path) -> None:
        """`load` reads the sample from disk and records where it came from."""
        path = tmp_path / "hookline.yaml"
        path.write_text(SAMPLE, encoding="utf-8")

        config = load(path, environ={})

        assert config.path == str(path)
        assert config.server == ServerModel()

    @pytest.mark.parametrize(
        ("section", "model"),
        [
            ("server", ServerModel),
            ("delivery", DeliveryModel),
            ("delivery", RetryPolicy),  # the `retry:` defaults are documented under delivery
            ("api", ApiModel),
            ("retention", RetentionModel),
        ],
    )
    def test_documents_every_field(self, section: str, model: type[BaseModel]) -> None:
        """Every key of the section's model appears in the sample, set or commented out."""
        text = _section(SAMPLE, section)

        missing = [name for name in model.model_fields if not _mentions(text, name)]

        assert missing == []


class TestInterpolation:
    def test_variable_is_replaced(self) -> None:
        """`${VAR}` becomes the variable's value, and pydantic then types it."""
        config = _load(
            "server: {host: '${HOST}', port: '${PORT}'}", {"HOST": "0.0.0.0", "PORT": "9090"}
        )

        assert config.server.host == "0.0.0.0"
        assert config.server.port == 9090

    def test_default_is_used_when_unset(self) -> None:
        """`${VAR:-default}` falls back to the default when VAR is not set."""
        config = _load("server: {port: '${PORT:-9191}'}")

        assert config.server.port == 9191

    def test_environment_wins_over_default(self) -> None:
        """A set variable is used even when a default is given."""
        config = _load("server: {port: '${PORT:-9191}'}", {"PORT": "9292"})

        assert config.server.port == 9292

    def test_set_but_empty_variable_is_used(self) -> None:
        """A variable set to the empty string counts as set: its default is not used."""
        config = _load("server: {host: 'a${SUFFIX:-x}'}", {"SUFFIX": ""})

        assert config.server.host == "a"

    def test_several_references_in_one_string(self) -> None:
        """Every reference inside one string is replaced, literal text around them kept."""
        config = _load("server: {host: '${A}.${B:-b}.$C'}", {"A": "a"})

        assert config.server.host == "a.b.$C"

    def test_jinja_next_to_a_dollar_is_left_alone(self) -> None:
        """`${{ ... }}` in a template is text for Jinja, not an environment reference."""
        config = _load(BASE.replace("text: hi", 'text: "Total: ${{ payload.amount }}"'))

        action = config.routes[0].actions[0].config
        assert isinstance(action, TelegramConfig)
        assert action.text.source == "Total: ${{ payload.amount }}"

    def test_missing_variable_is_located(self) -> None:
        """An unset variable without a default names the variable, file, line and key path."""
        errors = _errors(BASE.replace('"123:abc"', '"${TELEGRAM_BOT_TOKEN}"'))

        assert errors == [
            "x.yaml:8: routes[0].actions[0].telegram.token: "
            "environment variable TELEGRAM_BOT_TOKEN is not set"
        ]

    def test_missing_secret_is_reported_once(self) -> None:
        """A missing variable that leaves a secret empty is one error, not two."""
        errors = _errors("""\
            sources:
              stripe:
                verify:
                  provider: stripe
                  secret: ${STRIPE_WEBHOOK_SECRET}
            """)

        assert errors == [
            "x.yaml:5: sources.stripe.verify.secret: "
            "environment variable STRIPE_WEBHOOK_SECRET is not set"
        ]

    def test_every_missing_variable_is_reported(self) -> None:
        """Each unset variable gets its own error, in file order."""
        errors = _errors("""\
            server:
              host: ${HOST}
            delivery:
              timeout: ${TIMEOUT}
            """)

        assert errors == [
            "x.yaml:2: server.host: environment variable HOST is not set",
            "x.yaml:4: delivery.timeout: environment variable TIMEOUT is not set",
        ]


# Each row: a config (extending BASE or standalone) and the one error it must produce.
LOCATED_ERRORS = [
    pytest.param(
        BASE + "sauces: {}\n",
        "x.yaml:9: sauces: unknown key"
        " (known: database, server, sources, routes, delivery, api, retention)",
        id="unknown-top-level-key",
    ),
    pytest.param(
        BASE + "server:\n  hots: 0.0.0.0\n",
        "x.yaml:10: server.hots: unknown key",
        id="unknown-nested-key",
    ),
    pytest.param(
        BASE.replace("verify: {provider: none}", "verify: {provider: none, secret: x}"),
        "x.yaml:3: sources.shop.verify.secret: unknown key",
        id="unknown-key-in-verifier",
    ),
    pytest.param(
        BASE.replace("text: hi", "text: hi, colour: red"),
        "x.yaml:8: routes[0].actions[0].telegram.colour: unknown key",
        id="unknown-key-in-action",
    ),
    pytest.param(
        BASE + "server:\n  port: eighty\n",
        "x.yaml:10: server.port: Input should be a valid integer, unable to parse string as an "
        "integer",
        id="wrong-type",
    ),
    pytest.param(
        BASE + "server:\n  port: 70000\n",
        "x.yaml:10: server.port: Input should be less than or equal to 65535",
        id="out-of-range",
    ),
    pytest.param(
        BASE + "delivery:\n  timeout: forever\n",
        "x.yaml:10: delivery.timeout: expected a duration such as 10s, 5m or 1h, got 'forever'",
        id="bad-duration",
    ),
    pytest.param(
        BASE + "delivery:\n  retry: {backoff: 5 minutes}\n",
        "x.yaml:10: delivery.retry.backoff: expected a duration such as 10s, 5m or 1h, "
        "got '5 minutes'",
        id="bad-duration-nested",
    ),
    pytest.param(
        BASE + "server:\n  max_body_size: lots\n",
        "x.yaml:10: server.max_body_size: expected a size such as 5MiB or 512KB, got 'lots'",
        id="bad-size",
    ),
    pytest.param(
        BASE.replace("    actions:", '    if: "event.type =="\n    actions:'),
        "x.yaml:7: routes[0].if: syntax error: unexpected 'end of template' (template line 1)",
        id="bad-jinja-in-if",
    ),
    pytest.param(
        BASE.replace("text: hi", 'text: "Order {{ payload.id"'),
        "x.yaml:8: routes[0].actions[0].telegram.text: syntax error: unexpected end of template,"
        " expected 'end of print statement'. (template line 1)",
        id="bad-jinja-in-text",
    ),
    pytest.param(
        BASE.replace("text: hi", "text: [hi]"),
        "x.yaml:8: routes[0].actions[0].telegram.text: Input should be a valid string",
        id="template-of-wrong-type",
    ),
    pytest.param(
        BASE.replace("text: hi", "text: hi, parse_mode: Bold"),
        "x.yaml:8: routes[0].actions[0].telegram.parse_mode: "
        "Input should be 'HTML', 'MarkdownV2' or 'Markdown'",
        id="bad-literal",
    ),
    pytest.param(
        BASE.replace(", text: hi", ""),
        "x.yaml:8: routes[0].actions[0].telegram.text: required key is missing",
        id="missing-action-key",
    ),
    pytest.param(
        BASE.replace("    source: shop\n", ""),
        "x.yaml:5: routes[0].source: required key is missing",
        id="missing-route-key",
    ),
    pytest.param(
        BASE + "database: {url: x}\n",
        "x.yaml:9: database: expected a database URL or a file path",
        id="database-not-a-string",
    ),
    pytest.param(
        "sources: [shop]\n",
        "x.yaml:1: sources: expected a mapping of source names to sources",
        id="sources-not-a-mapping",
    ),
    pytest.param(
        "routes: {notify: {}}\n",
        "x.yaml:1: routes: expected a list of routes",
        id="routes-not-a-list",
    ),
]


class TestLocatedErrors:
    @pytest.mark.parametrize(("text", "expected"), LOCATED_ERRORS)
    def test_error_names_file_line_and_key_path(self, text: str, expected: str) -> None:
        """Each problem is reported as `file:line: key.path: message`."""
        # A duplicated top-level key (sources, server, database) replaces BASE's one in YAML.
        assert _errors(text) == [expected]

    def test_error_attributes(self) -> None:
        """A ConfigError carries its file, line, key path and problem separately."""
        with pytest.raises(ConfigErrors) as info:
            _load(BASE + "server:\n  port: eighty\n")

        (error,) = info.value.errors
        assert (error.file, error.line, error.key_path) == ("x.yaml", 10, "server.port")
        assert error.problem.startswith("Input should be a valid integer")

    def test_several_errors_in_one_run_sorted_by_line(self) -> None:
        """One run reports every problem in the file, in line order."""
        errors = _errors("""\
            api:
              token: short
            routes:
              - name: r
                source: nowhere
                actions:
                  - fax: {}
            server:
              port: -1
            colour: blue
            """)

        assert errors == [
            "x.yaml:2: api.token: the API token must be at least 16 characters",
            "x.yaml:5: routes[0].source: unknown source 'nowhere' (sources: none)",
            "x.yaml:7: routes[0].actions[0].fax: unknown action 'fax'; "
            "known: email, http, telegram",
            "x.yaml:9: server.port: Input should be greater than or equal to 0",
            "x.yaml:10: colour: unknown key (known: database, server, sources, routes, delivery,"
            " api, retention)",
        ]

    def test_one_bad_route_does_not_hide_the_next(self) -> None:
        """Errors in several routes and several actions are all reported."""
        errors = _errors(
            BASE
            + "  - name: second\n"
            + "    source: shop\n"
            + "    actions:\n"
            + '      - http: {url: "https://x.example", method: YEET}\n'
            + '      - email: {smtp_url: "ftp://m", from: a@b.c, to: d@e.f, subject: s, text: t}\n'
        )

        assert errors == [
            "x.yaml:12: routes[1].actions[0].http.method: "
            "Input should be 'GET', 'POST', 'PUT', 'PATCH' or 'DELETE'",
            "x.yaml:13: routes[1].actions[1].email.smtp_url: "
            "smtp_url must start with smtp://, smtp+starttls:// or smtps://",
        ]


class TestRegistries:
    def test_unknown_provider_lists_known_names(self) -> None:
        """A `provider:` that no verifier registers names the ones that exist."""
        errors = _errors(BASE.replace("provider: none", "provider: paypal"))

        assert errors == [
            "x.yaml:3: sources.shop.verify.provider: unknown provider 'paypal'; "
            "known: basic, bearer, github, gitlab, hmac, meta, none, shopify, slack, "
            "standard-webhooks, stripe, telegram, twilio, typeform"
        ]

    def test_missing_provider_lists_known_names(self) -> None:
        """A `verify:` without `provider:` says which providers there are."""
        errors = _errors(BASE.replace("{provider: none}", "{}"))

        assert errors == [
            "x.yaml:3: sources.shop.verify.provider: required key is missing "
            "(one of: basic, bearer, github, gitlab, hmac, meta, none, shopify, slack, "
            "standard-webhooks, stripe, telegram, twilio, typeform)"
        ]

    def test_unknown_action_lists_known_names(self) -> None:
        """An action key that no action registers names the ones that exist."""
        errors = _errors(BASE.replace("- telegram:", "- telgram:"))

        assert errors == [
            "x.yaml:8: routes[0].actions[0].telgram: unknown action 'telgram'; "
            "known: email, http, telegram"
        ]

    def test_action_must_be_one_key(self) -> None:
        """An action item with two keys is refused, naming the actions."""
        two_keys = "- {http: {url: 'https://x'}, telegram: {token: t, chat_id: 1, text: hi}}"
        errors = _errors(
            BASE.replace('- telegram: {token: "123:abc", chat_id: 1, text: hi}', two_keys)
        )

        assert errors == [
            "x.yaml:8: routes[0].actions[0]: an action is one key naming it "
            "(one of: email, http, telegram), got 2 keys"
        ]


class TestRoutes:
    def test_duplicate_route_names(self) -> None:
        """Two routes with one name are refused at the second one's name."""
        errors = _errors(BASE + BASE[BASE.index("  - name") :])

        assert errors == ["x.yaml:9: routes[1].name: duplicate route name 'notify'"]

    def test_route_with_unknown_source_lists_sources(self) -> None:
        """A route's source must be one of the configured sources, which are listed."""
        errors = _errors(BASE.replace("source: shop", "source: stripe"))

        assert errors == ["x.yaml:6: routes[0].source: unknown source 'stripe' (sources: shop)"]

    def test_route_needs_an_action(self) -> None:
        """A route without actions is refused."""
        errors = _errors(BASE[: BASE.index("    actions:")] + "    actions: []\n")

        assert errors == [
            "x.yaml:7: routes[0].actions: List should have at least 1 item after validation, not 0"
        ]

    def test_valid_route_is_built(self) -> None:
        """A valid route keeps its name, source, compiled condition and numbered actions."""
        config = _load(
            dedent("""\
            sources:
              shop: {verify: {provider: none}}
            routes:
              - name: paid
                source: shop
                if: "event.type == 'paid'"
                actions:
                  - telegram: {token: "123:abc", chat_id: -100, text: "Paid {{ payload.id }}"}
                  - http: {url: "https://crm.example/orders", json: {order: "{{ payload.id }}"}}
                  - email:
                      smtp_url: smtps://user:pass@mail.example.com
                      from: shop@example.com
                      to: manager@example.com
                      subject: Paid
                      text: "{{ payload.id }}"
            """)
        )

        (route,) = config.routes
        assert (route.name, route.source) == ("paid", "shop")
        assert isinstance(route.condition, Condition)
        assert route.condition.source == "event.type == 'paid'"
        assert [(a.index, a.name) for a in route.actions] == [
            (0, "telegram"),
            (1, "http"),
            (2, "email"),
        ]
        telegram, http, email = (a.config for a in route.actions)
        assert isinstance(telegram, TelegramConfig)
        assert telegram.chat_id == Template("-100")
        assert isinstance(http, HttpConfig)
        assert http.json_ == {"order": Template("{{ payload.id }}")}
        assert isinstance(email, EmailConfig)
        assert email.to == [Template("manager@example.com")]
        assert config.route("missing") is None

    def test_route_without_if_has_no_condition(self) -> None:
        """A route without `if:` has no condition (it always applies)."""
        assert _load(BASE).routes[0].condition is None


class TestSources:
    @pytest.mark.parametrize(
        "name",
        [
            "bad name",  # a space cannot be in a URL path segment as written
            "-shop",  # must start with a letter or digit
            ".hidden",  # idem
            "shop/orders",  # a slash would add a path segment
            "a" * 65,  # longer than 64 characters
            "магазин",  # letters outside ASCII
        ],
    )
    def test_invalid_source_name(self, name: str) -> None:
        """A source name that cannot be a URL path segment is refused, with the rule."""
        errors = _errors(f"sources:\n  {name!r}: {{verify: {{provider: none}}}}\n")

        assert errors == [
            f"x.yaml:2: sources.{name}: source name {name!r} must be 1-64 letters, digits, "
            "'.', '_' or '-' (it becomes the URL path /hooks/<name>)"
        ]

    @pytest.mark.parametrize(
        "name",
        [
            "shop",  # plain
            "Stripe.v2_live-1",  # every allowed punctuation
            "a" * 64,  # the longest allowed
            "7",  # a digit alone
        ],
    )
    def test_valid_source_name(self, name: str) -> None:
        """Names of letters, digits, '.', '_' and '-' up to 64 characters are accepted."""
        config = _load(f"sources:\n  {name!r}: {{verify: {{provider: none}}}}\n")

        assert list(config.sources) == [name]

    def test_source_inherits_server_body_limit(self) -> None:
        """A source without `max_body_size` takes the server's."""
        config = _load(BASE + "server: {max_body_size: 1MiB}\n")

        assert config.sources["shop"].max_body_size == 1024 * 1024

    def test_source_body_limit_overrides_server(self) -> None:
        """A source's own `max_body_size` wins over the server's."""
        config = _load(BASE.replace("    verify:", "    max_body_size: 2KB\n    verify:"))

        assert config.sources["shop"].max_body_size == 2000
        assert config.server.max_body_size == DEFAULT_MAX_BODY_SIZE

    def test_source_templates_are_compiled(self) -> None:
        """A source's `id` and `type` become templates; a syntax error in them is located."""
        config = _load(BASE.replace("    verify:", "    id: '{{ payload.id }}'\n    verify:"))
        assert config.sources["shop"].id == Template("{{ payload.id }}")
        assert config.sources["shop"].type is None

        errors = _errors(BASE.replace("    verify:", "    type: '{{ payload.'\n    verify:"))
        assert len(errors) == 1
        assert errors[0].startswith("x.yaml:3: sources.shop.type: syntax error:")

    def test_verifier_config_is_validated(self) -> None:
        """Each provider's own model checks its keys; the built source holds that model."""
        config = _load("""\
            sources:
              a: {verify: {provider: hmac, secret: s3cret, header: X-Sig}}
              b: {verify: {provider: none}}
            """)

        assert isinstance(config.sources["a"].verify, HmacConfig)
        assert config.sources["a"].verify.header == "X-Sig"
        assert isinstance(config.sources["b"].verify, NoneConfig)


class TestYamlShape:
    def test_invalid_yaml_gives_a_line(self) -> None:
        """A YAML syntax error is reported at its line."""
        errors = _errors("server:\n  port: 1\n  - x\n")

        assert errors == ["x.yaml:3: invalid YAML: expected <block end>, but found '-'"]

    @pytest.mark.parametrize(
        "text",
        [
            "- a\n- b\n",  # a list
            "just text\n",  # a scalar
            "42\n",  # a number
        ],
    )
    def test_top_level_must_be_a_mapping(self, text: str) -> None:
        """A file whose top level is not a mapping is one clear error."""
        assert _errors(text) == ["x.yaml:1: the top level must be a mapping of keys"]

    def test_several_documents_are_refused(self) -> None:
        """A file with two YAML documents is refused at the second one."""
        assert _errors("--- {}\n--- {}\n") == ["x.yaml:2: invalid YAML: but found another document"]

    def test_python_tags_are_refused(self) -> None:
        """YAML tags that construct Python objects are refused (safe loading)."""
        (error,) = _errors("server: !!python/object/apply:os.getcwd []\n")

        assert error.startswith("x.yaml:1: invalid YAML: could not determine a constructor")

    def test_self_referencing_alias_is_an_error(self) -> None:
        """An alias that contains itself is a located config error, not a crash."""
        errors = _errors("routes: &loop [*loop]\n")

        assert len(errors) == 1
        assert errors[0].startswith("x.yaml:1: ")

    @pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
    def test_empty_file_gives_defaults(self, text: str) -> None:
        """An empty file is a valid config with every default."""
        config = _load(text)

        assert config.sources == {}
        assert config.routes == ()
        assert config.database is None
        assert config.server == ServerModel()
        assert config.delivery == DeliveryModel()
        assert config.api == ApiModel()

    def test_defaults(self) -> None:
        """The documented defaults: localhost:8080, 5 MiB bodies, 10s timeout, 10 attempts."""
        config = _load(BASE)

        assert (config.server.host, config.server.port) == ("127.0.0.1", 8080)
        assert config.server.max_body_size == 5 * 1024 * 1024
        assert config.delivery.allow_private_networks is False
        assert config.delivery.timeout == timedelta(seconds=10)
        assert config.delivery.retry == RetryPolicy(
            max_attempts=10, backoff=timedelta(seconds=5), max_backoff=timedelta(hours=1)
        )

    def test_database_string_is_kept(self) -> None:
        """A `database:` string is passed on as given."""
        assert _load("database: postgresql://db/hookline\n").database == "postgresql://db/hookline"


class TestApiToken:
    def test_empty_token_is_absent(self) -> None:
        """`token: ""` (e.g. an empty `${VAR:-}`) means no token, so one is generated."""
        assert _load("api: {token: ''}\n").api.token is None
        assert _load("api: {token: '${HOOKLINE_API_TOKEN:-}'}\n").api.token is None

    def test_short_token_is_refused(self) -> None:
        """A token under 16 characters is refused, and the error does not repeat it."""
        errors = _errors("api:\n  token: abc123\n")

        assert errors == ["x.yaml:2: api.token: the API token must be at least 16 characters"]
        assert "abc123" not in errors[0]

    def test_token_with_a_trailing_newline_is_refused(self) -> None:
        """A token whose digest could never match what clients send is refused, unrepeated."""
        errors = _errors('api:\n  token: "0123456789abcdef\\n"\n')

        assert errors == [
            "x.yaml:2: api.token: the API token has leading or trailing whitespace; remove it"
        ]

    def test_long_enough_token_is_kept_secret(self) -> None:
        """A 16-character token is accepted and held as a secret."""
        config = _load("api: {token: '${TOKEN}'}\n", {"TOKEN": "0123456789abcdef"})

        assert config.api.token is not None
        assert config.api.token.get_secret_value() == "0123456789abcdef"
        assert "0123456789abcdef" not in repr(config)


class TestSecrets:
    def test_every_secret_value_is_listed(self) -> None:
        """`secrets()` returns verifier secrets, action secrets and the API token."""
        config = _load(
            """\
            sources:
              stripe: {verify: {provider: stripe, secret: ["${STRIPE_OLD}", "${STRIPE_NEW}"]}}
              orders: {verify: {provider: hmac, secret: "${ORDERS_SECRET}"}}
              open: {verify: {provider: none}}
            routes:
              - name: paid
                source: stripe
                actions:
                  - telegram: {token: "${TELEGRAM_BOT_TOKEN}", chat_id: 1, text: hi}
                  - email:
                      smtp_url: "${SMTP_URL}"
                      from: shop@example.com
                      to: manager@example.com
                      subject: s
                      text: t
                  - http: {url: "https://crm.example/orders"}
            api:
              token: ${HOOKLINE_API_TOKEN}
            """,
            {
                "STRIPE_OLD": "whsec_old_secret",
                "STRIPE_NEW": "whsec_new_secret",
                "ORDERS_SECRET": "orders-hmac-key",
                "TELEGRAM_BOT_TOKEN": "123456:telegram-token",
                "SMTP_URL": "smtps://user:mail-password@mail.example.com",
                "HOOKLINE_API_TOKEN": "api-token-0123456789",
            },
        )

        assert sorted(config.secrets()) == sorted(
            [
                "whsec_old_secret",
                "whsec_new_secret",
                "orders-hmac-key",
                "123456:telegram-token",
                "smtps://user:mail-password@mail.example.com",
                "api-token-0123456789",
            ]
        )

    def test_no_secrets(self) -> None:
        """A config without secrets lists none."""
        assert _load("sources: {open: {verify: {provider: none}}}\n").secrets() == []


class TestLoadFile:
    def test_errors_name_the_path(self, tmp_path: Path) -> None:
        """Errors from `load` name the file as given."""
        path = tmp_path / "hookline.yaml"
        path.write_text("server:\n  port: eighty\n", encoding="utf-8")

        with pytest.raises(ConfigErrors) as info:
            load(path, environ={})

        assert [str(e) for e in info.value.errors] == [
            f"{path}:2: server.port: Input should be a valid integer, unable to parse string as an"
            " integer"
        ]

    def test_missing_file(self, tmp_path: Path) -> None:
        """A file that cannot be read is one error naming it."""
        path = tmp_path / "absent.yaml"

        with pytest.raises(ConfigErrors) as info:
            load(path, environ={})

        assert [str(e) for e in info.value.errors] == [
            f"{path}: cannot read: No such file or directory"
        ]

    def test_non_utf8_file(self, tmp_path: Path) -> None:
        """A file that is not UTF-8 text is one error naming it."""
        path = tmp_path / "latin1.yaml"
        path.write_bytes("server: {host: café}\n".encode("latin-1"))

        with pytest.raises(ConfigErrors) as info:
            load(path, environ={})

        assert [str(e) for e in info.value.errors] == [f"{path}: not UTF-8 text"]

    def test_process_environment_by_default(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without `environ=`, variables come from the process environment."""
        monkeypatch.setenv("HOOKLINE_TEST_PORT", "8181")
        path = tmp_path / "hookline.yaml"
        path.write_text("server: {port: '${HOOKLINE_TEST_PORT}'}\n", encoding="utf-8")

        assert load(path).server.port == 8181


class TestEnvironmentSecrets:
    """Values filled in from ${VAR} into headers, URLs and credential keys count as secrets."""

    TEXT = """
sources: {s: {verify: {provider: none}}}
routes:
  - name: r
    source: s
    actions:
      - http:
          url: "https://crm.example.com/api?api_key=${CRM_KEY}"
          headers: {X-Auth-Token: "${CRM_TOKEN}", X-Region: "${REGION}"}
      - telegram: {token: "1:abc", chat_id: "${CHAT}", text: "hi"}
"""

    def test_header_and_url_values_from_the_environment_are_redacted(self):
        """A key in a URL query and any header value from the environment are secrets."""
        env = {"CRM_KEY": "k-1234567", "CRM_TOKEN": "t-7654321", "REGION": "eu-west", "CHAT": "42"}
        config = loads(self.TEXT, file="x.yaml", environ=env)
        secrets = config.secrets()
        assert {"k-1234567", "t-7654321", "eu-west"} <= set(secrets)
        assert "42" not in secrets  # a chat id under a plain key is not a secret

    def test_routes_view_masks_them(self):
        """The read-only config view shown by the API and dashboard shows none of them."""
        from hookline.configview import routes_view
        from hookline.redact import Redactor

        env = {"CRM_KEY": "k-1234567", "CRM_TOKEN": "t-7654321", "REGION": "eu", "CHAT": "42"}
        config = loads(self.TEXT, file="x.yaml", environ=env)
        shown = str(routes_view(config, Redactor(config.secrets())))
        assert "k-1234567" not in shown and "t-7654321" not in shown
