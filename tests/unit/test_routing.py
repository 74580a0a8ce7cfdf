"""Router: which deliveries an event owes, decided from the loaded config's routes."""

from __future__ import annotations

from textwrap import dedent
from typing import Any

from hookline.config.loader import loads
from hookline.routing import Router
from hookline.templating import RenderContext

TELEGRAM = '{telegram: {token: "123:abc", chat_id: 1, text: "{{ payload.id }}"}}'
HTTP = '{http: {url: "https://crm.example/orders"}}'

CONFIG = dedent(f"""\
    sources:
      shop: {{verify: {{provider: none}}}}
      crm: {{verify: {{provider: none}}}}
      quiet: {{verify: {{provider: none}}}}
    routes:
      - name: paid-to-manager
        source: shop
        if: "event.type == 'paid'"
        actions: [{TELEGRAM}, {HTTP}]
      - name: everything-to-crm
        source: shop
        actions: [{HTTP}]
      - name: crm-echo
        source: crm
        actions: [{TELEGRAM}]
      - name: broken-condition
        source: crm
        if: "payload.amount // 0"
        actions: [{HTTP}, {TELEGRAM}]
    """)

ROUTER = Router(loads(CONFIG, file="x.yaml", environ={}))


def _ctx(event_type: str = "paid", payload: Any = None) -> RenderContext:
    return RenderContext(
        event={"id": "ev_1", "type": event_type, "source": "shop"},
        payload={"id": "evt_1", "amount": 100} if payload is None else payload,
        headers={},
        query={},
    )


def _summary(source: str, ctx: RenderContext) -> list[tuple[str, int, str, bool]]:
    return [
        (d.route, d.action_index, d.action, d.error is not None)
        for d in ROUTER.deliveries(source, ctx)
    ]


class TestRouter:
    def test_matching_routes_of_the_source(self) -> None:
        """An event owes one delivery per action of every matching route of its source."""
        assert _summary("shop", _ctx("paid")) == [
            ("paid-to-manager", 0, "telegram", False),
            ("paid-to-manager", 1, "http", False),
            ("everything-to-crm", 0, "http", False),
        ]

    def test_false_condition_creates_nothing(self) -> None:
        """A route whose condition is false owes no deliveries."""
        assert _summary("shop", _ctx("refunded")) == [("everything-to-crm", 0, "http", False)]

    def test_missing_key_in_condition_is_false(self) -> None:
        """A condition over a missing key is false: no deliveries and no error."""
        router = Router(
            loads(
                dedent(f"""\
                    sources: {{shop: {{verify: {{provider: none}}}}}}
                    routes:
                      - name: status
                        source: shop
                        if: "payload.data.object.status == 'paid'"
                        actions: [{HTTP}]
                    """),
                file="x.yaml",
                environ={},
            )
        )

        assert router.deliveries("shop", _ctx(payload={"id": "evt_1"})) == []

    def test_condition_error_creates_dead_deliveries(self) -> None:
        """A condition that fails still creates its deliveries, each carrying the error."""
        deliveries = ROUTER.deliveries("crm", _ctx())

        assert [(d.route, d.action_index, d.action) for d in deliveries] == [
            ("crm-echo", 0, "telegram"),
            ("broken-condition", 0, "http"),
            ("broken-condition", 1, "telegram"),
        ]
        assert deliveries[0].error is None
        for delivery in deliveries[1:]:
            assert delivery.error == (
                "route condition failed: cannot evaluate condition 'payload.amount // 0': "
                "ZeroDivisionError: integer division or modulo by zero"
            )

    def test_routes_of_other_sources_do_not_apply(self) -> None:
        """A source's events never reach another source's routes."""
        assert {d.route for d in ROUTER.deliveries("shop", _ctx())}.isdisjoint(
            {"crm-echo", "broken-condition"}
        )

    def test_source_without_routes(self) -> None:
        """A source no route mentions, or an unknown one, owes nothing."""
        assert ROUTER.deliveries("quiet", _ctx()) == []
        assert ROUTER.deliveries("nowhere", _ctx()) == []

    def test_config_without_routes(self) -> None:
        """A config without routes routes nothing."""
        router = Router(loads("sources: {shop: {verify: {provider: none}}}", file="x", environ={}))

        assert router.deliveries("shop", _ctx()) == []

    def test_ids_are_unique_delivery_ids(self) -> None:
        """Every delivery gets its own `dlv_` id, across calls too."""
        ids = [d.id for _ in range(50) for d in ROUTER.deliveries("shop", _ctx())]

        assert len(ids) == 150
        assert len(set(ids)) == len(ids)
        assert all(i.startswith("dlv_") for i in ids)

    def test_router_reads_the_context(self) -> None:
        """Conditions see the context given for this event, not a previous one."""
        first = _summary("shop", _ctx("paid"))
        second = _summary("shop", _ctx("refunded"))
        third = _summary("shop", _ctx("paid"))

        assert first == third
        assert len(first) == 3
        assert len(second) == 1
