"""Templates and conditions: Jinja2 in its sandbox, escapes, strictness and native values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from hookline.errors import TemplateError
from hookline.templating import (
    Condition,
    RenderContext,
    Template,
    compile_structure,
    escape_markdown_v2,
    event_variables,
    render_structure,
)

PAYLOAD: dict[str, Any] = {
    "id": "evt_1",
    "amount": 500000,
    "paid": True,
    "note": None,
    "items": [{"sku": "A-1"}, {"sku": "B_2"}],
    "customer": {"name": "<b>Ivan</b> & Co", "handle": "ivan_petrov*"},
}


def _ctx(payload: Any = None) -> RenderContext:
    return RenderContext(
        event={"id": "ev_1", "type": "payment_intent.succeeded", "source": "stripe"},
        payload=PAYLOAD if payload is None else payload,
        headers={"content-type": "application/json"},
        query={"shop": "main"},
    )


def _render(source: str, **kwargs: Any) -> str:
    return Template(source).render(_ctx(), **kwargs)


class TestTemplate:
    def test_renders_every_variable(self) -> None:
        """Templates see `event`, `payload`, `headers` and `query`."""
        text = _render(
            "{{ event.type }} {{ payload.id }} {{ headers['content-type'] }} {{ query.shop }}"
        )

        assert text == "payment_intent.succeeded evt_1 application/json main"

    def test_filters_and_arithmetic(self) -> None:
        """Jinja filters and arithmetic work as in the documented Telegram example."""
        assert _render("{{ payload.amount // 100 }} {{ 'rub' | upper }}") == "5000 RUB"

    def test_trailing_newline_is_kept(self) -> None:
        """A trailing newline in the source is part of the output."""
        assert _render("line\n") == "line\n"

    def test_syntax_error_at_construction(self) -> None:
        """A syntax error is a TemplateError as soon as the template is built."""
        with pytest.raises(TemplateError, match=r"^syntax error: .* \(template line 2\)$") as info:
            Template("first\n{{ payload.id ")

        assert info.value.template == "first\n{{ payload.id "

    def test_is_constant(self) -> None:
        """A source without braces is constant text."""
        assert Template("plain text").is_constant
        assert not Template("{{ payload.id }}").is_constant

    def test_equality_and_hash_follow_source(self) -> None:
        """Two templates with one source are equal and hash alike."""
        assert Template("{{ a }}") == Template("{{ a }}")
        assert Template("{{ a }}") != Template("{{ b }}")
        assert Template("x") != "x"
        assert len({Template("{{ a }}"), Template("{{ a }}")}) == 1
        assert repr(Template("{{ a }}")) == "Template('{{ a }}')"


class TestEscapes:
    def test_none_leaves_values_as_they_are(self) -> None:
        """Without an escape mode, values are inserted verbatim."""
        assert _render("{{ payload.customer.name }}") == "<b>Ivan</b> & Co"

    def test_html_escapes_variables_not_markup(self) -> None:
        """In HTML mode a value's markup is escaped; the template's own markup is kept."""
        text = _render("<b>Client:</b> {{ payload.customer.name }}", escape="html")

        assert text == "<b>Client:</b> &lt;b&gt;Ivan&lt;/b&gt; &amp; Co"

    def test_markdown_escapes_variables_not_markup(self) -> None:
        """In MarkdownV2 mode a value's specials are escaped; the template's own are kept."""
        text = _render("*Client:* {{ payload.customer.handle }}", escape="markdown")

        assert text == r"*Client:* ivan\_petrov\*"

    def test_markdown_escapes_numbers(self) -> None:
        """Non-string values are escaped after conversion (the `.` in a decimal)."""
        assert _render("{{ 12.5 }}", escape="markdown") == r"12\.5"

    def test_one_template_renders_in_every_mode(self) -> None:
        """A template compiled for one mode still renders correctly in another."""
        template = Template("{{ payload.customer.handle }}")

        assert template.render(_ctx(), escape="markdown") == r"ivan\_petrov\*"
        assert template.render(_ctx()) == "ivan_petrov*"
        assert template.render(_ctx(), escape="html") == "ivan_petrov*"

    @pytest.mark.parametrize("char", list("_*[]()~`>#+-=|{}.!\\"))
    def test_escape_markdown_v2_specials(self, char: str) -> None:
        """Each character MarkdownV2 reserves gets a backslash."""
        assert escape_markdown_v2(f"a{char}b") == f"a\\{char}b"

    def test_escape_markdown_v2_leaves_plain_text(self) -> None:
        """Letters, digits, spaces and other punctuation pass unchanged."""
        assert escape_markdown_v2("Order 123, Ivan: 5000 RUB?") == "Order 123, Ivan: 5000 RUB?"


class TestStrictUndefined:
    def test_missing_attribute_names_it(self) -> None:
        """A missing key in a template is a TemplateError naming the key."""
        with pytest.raises(TemplateError, match="has no attribute 'order_id'") as info:
            _render("Order {{ payload.order_id }}")

        assert info.value.template == "Order {{ payload.order_id }}"
        assert info.value.message.startswith("cannot render 'Order {{ payload.order_id }}'")

    def test_missing_nested_attribute_names_the_first_missing(self) -> None:
        """A chain through a missing key names the first key that is missing."""
        with pytest.raises(TemplateError, match="has no attribute 'metadata'"):
            _render("{{ payload.metadata.order_id }}")

    def test_missing_variable(self) -> None:
        """An unknown top-level name is a TemplateError naming it."""
        with pytest.raises(TemplateError, match="'order' is undefined"):
            _render("{{ order }}")

    def test_runtime_error_is_a_template_error(self) -> None:
        """An error inside template code is a TemplateError with the exception's type."""
        with pytest.raises(TemplateError, match="ZeroDivisionError"):
            _render("{{ payload.amount // 0 }}")

    def test_default_filter_covers_missing_keys(self) -> None:
        """`| default(...)` is the way to allow a missing key."""
        assert _render("{{ payload.order_id | default('none') }}") == "none"


class TestCondition:
    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            ("event.type == 'payment_intent.succeeded'", True),  # the documented example
            ("event.type == 'charge.failed'", False),  # another type
            ("payload.amount > 1000 and payload.paid", True),  # boolean logic
            ("payload['items'] | length == 2", True),  # filters
            ("'A-1' in payload['items'] | map(attribute='sku')", True),  # map over lists
            ("query.shop", True),  # a truthy string
            ("payload.note", False),  # None is falsy
        ],
    )
    def test_evaluates(self, source: str, expected: bool) -> None:
        """A condition is a Jinja expression over the event, judged by truthiness."""
        assert Condition(source).matches(_ctx()) is expected

    @pytest.mark.parametrize(
        "source",
        [
            "payload.status",  # a missing key alone
            "payload.data.object.status == 'paid'",  # a chain through missing keys
            "payload.data.object.status",  # a chain alone
            "headers['x-missing']",  # a missing header
            "undefined_name",  # a name that is not a variable
        ],
    )
    def test_missing_keys_are_false(self, source: str) -> None:
        """A missing key makes the condition false, not an error."""
        assert Condition(source).matches(_ctx()) is False

    def test_missing_key_on_another_payload_shape(self) -> None:
        """A condition written for JSON objects is false for a text payload."""
        assert Condition("payload.data.status == 'paid'").matches(_ctx("plain text")) is False

    @pytest.mark.parametrize(
        ("source", "kind"),
        [
            ("1 // 0", "ZeroDivisionError"),  # arithmetic error
            ("'a' + 1", "TypeError"),  # type error
            ("payload.amount // 0", "ZeroDivisionError"),  # on payload data
            ("payload.amount > 'x'", "TypeError"),  # comparing a number with text
        ],
    )
    def test_real_error_raises(self, source: str, kind: str) -> None:
        """A condition that fails to evaluate raises TemplateError naming the error."""
        with pytest.raises(TemplateError, match=f"cannot evaluate condition .*: {kind}") as info:
            Condition(source).matches(_ctx())

        assert info.value.template == source

    def test_syntax_error_at_construction(self) -> None:
        """A condition with a syntax error fails when it is built."""
        with pytest.raises(TemplateError, match=r"^syntax error: "):
            Condition("event.type ==")

    def test_repr(self) -> None:
        """The repr shows the source."""
        assert repr(Condition("payload.paid")) == "Condition('payload.paid')"


class TestSandbox:
    @pytest.mark.parametrize(
        "source",
        [
            "{{ ''.__class__.__mro__ }}",  # walking to object
            "{{ payload.__class__.__subclasses__() }}",  # enumerating classes
            "{{ payload['items'].append(1) }}",  # mutating data (immutable sandbox)
            "{{ payload.update({'a': 1}) }}",  # idem, on a mapping
            "{{ cycler.__init__.__globals__ }}",  # reaching module globals
        ],
    )
    def test_template_refuses_unsafe_access(self, source: str) -> None:
        """Unsafe attribute access in a template is a TemplateError, not a result."""
        with pytest.raises(TemplateError, match=r"SecurityError: access to attribute .* unsafe"):
            _render(source)

    @pytest.mark.parametrize(
        "source",
        [
            "''.__class__.__mro__",  # walking to object
            "payload.__class__.__subclasses__()",  # enumerating classes
            "payload['items'].append(1)",  # mutating data
        ],
    )
    def test_condition_refuses_unsafe_access(self, source: str) -> None:
        """Unsafe attribute access in a condition is a TemplateError, not a silent false."""
        with pytest.raises(TemplateError, match="unsafe"):
            Condition(source).matches(_ctx())

    def test_payload_is_not_modified(self) -> None:
        """Templates cannot change the data they read."""
        payload = {"items": [1]}
        with pytest.raises(TemplateError):
            Template("{{ payload['items'].append(2) }}").render(_ctx(payload))

        assert payload == {"items": [1]}


class TestRenderStructure:
    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            ("{{ payload.amount }}", 500000),  # int stays int
            ("{{ payload.paid }}", True),  # bool stays bool
            ("{{ payload.note }}", None),  # None stays None
            ("{{ payload['items'] }}", [{"sku": "A-1"}, {"sku": "B_2"}]),  # list stays list
            ("{{ payload.customer }}", PAYLOAD["customer"]),  # dict stays dict
            ("{{ payload.amount / 100 }}", 5000.0),  # computed float
            ("  {{ payload.amount }}  ", 500000),  # surrounding spaces still a lone expression
            ("{{ payload.amount | string }}", "500000"),  # filters apply
        ],
    )
    def test_lone_expression_keeps_native_type(self, source: str, expected: Any) -> None:
        """A string that is one `{{ expr }}` renders to the expression's own value."""
        assert render_structure(compile_structure(source), _ctx()) == expected

    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            ("order {{ payload.id }}", "order evt_1"),  # text around an expression
            ("{{ payload.amount }}{{ payload.paid }}", "500000True"),  # two expressions
            ("{{ payload.id }} and {{ payload.amount }}", "evt_1 and 500000"),  # idem, spaced
            ("plain", "plain"),  # no expression at all
            ("{% if payload.paid %}yes{% endif %}", "yes"),  # statements
        ],
    )
    def test_other_strings_render_as_text(self, source: str, expected: str) -> None:
        """Any other string renders as text."""
        assert render_structure(compile_structure(source), _ctx()) == expected

    def test_nested_structure(self) -> None:
        """Dicts and lists are walked; non-string leaves pass unchanged."""
        structure = compile_structure(
            {
                "order": "{{ payload.id }}",
                "amount": "{{ payload.amount }}",
                "label": "Order {{ payload.id }}",
                "flags": [True, 3, None, "{{ payload.paid }}"],
                "nested": {"sku": "{{ payload['items'][0].sku }}"},
            }
        )

        assert render_structure(structure, _ctx()) == {
            "order": "evt_1",
            "amount": 500000,
            "label": "Order evt_1",
            "flags": [True, 3, None, True],
            "nested": {"sku": "A-1"},
        }

    def test_compile_structure_makes_templates(self) -> None:
        """Every string becomes a Template and every key a string; a bad one fails at once."""
        assert compile_structure({1: ["{{ a }}", 2]}) == {"1": [Template("{{ a }}"), 2]}
        with pytest.raises(TemplateError, match=r"^syntax error"):
            compile_structure({"a": ["{{ oops"]})

    def test_missing_key_in_lone_expression_raises(self) -> None:
        """A lone `{{ expr }}` over a missing key is a TemplateError, not a silent null."""
        with pytest.raises(TemplateError, match="order_id"):
            render_structure(compile_structure({"order": "{{ payload.order_id }}"}), _ctx())

    def test_missing_key_in_text_raises(self) -> None:
        """A missing key inside text is a TemplateError naming it."""
        with pytest.raises(TemplateError, match="has no attribute 'order_id'"):
            render_structure(compile_structure("order {{ payload.order_id }}"), _ctx())

    def test_error_in_lone_expression_raises(self) -> None:
        """An error evaluating a lone expression is a TemplateError naming its source."""
        with pytest.raises(TemplateError, match=r"cannot render '\{\{ 1 // 0 \}\}'"):
            render_structure(compile_structure("{{ 1 // 0 }}"), _ctx())


class _Message(BaseModel):
    text: Template
    when: Condition | None = None


class TestPydanticField:
    def test_string_becomes_template(self) -> None:
        """A Template field accepts a string and compiles it."""
        message = _Message.model_validate({"text": "Hi {{ payload.id }}", "when": "payload.paid"})

        assert message.text == Template("Hi {{ payload.id }}")
        assert message.text.render(_ctx()) == "Hi evt_1"
        assert message.when is not None
        assert message.when.matches(_ctx())

    def test_template_instance_passes_through(self) -> None:
        """A Template instance is accepted as it is."""
        template = Template("x")

        assert _Message(text=template).text is template

    def test_syntax_error_is_a_validation_error(self) -> None:
        """A template syntax error fails validation at the field, with the Jinja message."""
        with pytest.raises(ValidationError) as info:
            _Message.model_validate({"text": "{{ payload.id "})

        (error,) = info.value.errors(include_url=False)
        assert error["loc"] == ("text",)
        assert "syntax error" in error["msg"]

    def test_condition_syntax_error_is_a_validation_error(self) -> None:
        """A condition syntax error fails validation at the field."""
        with pytest.raises(ValidationError) as info:
            _Message.model_validate({"text": "x", "when": "a =="})

        (error,) = info.value.errors(include_url=False)
        assert error["loc"] == ("when",)
        assert "syntax error" in error["msg"]

    def test_serializes_to_source(self) -> None:
        """A Template field serializes back to its source text."""
        message = _Message.model_validate({"text": "{{ a }}", "when": "b"})

        assert message.model_dump() == {"text": "{{ a }}", "when": "b"}


class TestEventVariables:
    def test_shape(self) -> None:
        """`event` holds id, type, source, external_id and an ISO receive time."""
        received = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)

        variables = event_variables(
            id="ev_1", type="paid", source="shop", received_at=received, external_id="evt_9"
        )

        assert variables == {
            "id": "ev_1",
            "type": "paid",
            "source": "shop",
            "received_at": "2024-05-01T12:30:00+00:00",
            "external_id": "evt_9",
        }


class TestConditionFastPath:
    """`event.<field> ==/!= 'literal'` is answered without the sandbox, with the same result."""

    @given(
        field=st.sampled_from(["type", "source", "id", "external_id"]),
        op=st.sampled_from(["==", "!="]),
        literal=st.text(alphabet=st.characters(blacklist_characters="'\"\\{}"), max_size=12),
        actual=st.one_of(st.none(), st.text(max_size=12)),
        same=st.booleans(),
        quote=st.sampled_from(["'", '"']),
    )
    def test_same_answer_as_the_sandbox(self, field, op, literal, actual, same, quote):
        """For any event value, the fast path and the sandboxed expression agree."""
        from hookline.templating import _env

        source = f"event.{field} {op} {quote}{literal}{quote}"
        event = {"type": None, "source": None, "id": None, "external_id": None}
        event[field] = literal if same else actual
        ctx = RenderContext(event=event, payload=None, headers={}, query={})
        sandboxed = _env("none", strict=False).compile_expression(source)(**ctx.variables())
        assert Condition(source).matches(ctx) is bool(sandboxed)

    @pytest.mark.parametrize(
        ("source", "fast"),
        [
            ("event.type == 'payment_intent.succeeded'", True),  # the canonical route
            ('  event.source != "stripe"  ', True),  # double quotes, spaces
            ("event.type == 'a' and event.source == 'b'", False),  # a compound: sandbox
            ("event.type == '{{ x }}'", False),  # braces: sandbox
            ("payload.type == 'a'", False),  # not an event field: sandbox
        ],
    )
    def test_only_the_plain_shape_is_taken_out_of_the_sandbox(self, source, fast):
        """Only a single comparison of an event field with a plain literal skips the sandbox."""
        assert (Condition(source)._fast is not None) is fast


_PATH_NAMES = st.sampled_from(["a", "b", "id", "items", "get", "keys", "_x", "data"])
_JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_PATH_NAMES, inner, max_size=4)
    ),
    max_leaves=12,
)


class TestPlainPathFastPath:
    """A lone `{{ payload.a.b }}` down plain dicts skips the sandbox, with the same result."""

    @given(payload=_JSON_VALUES, path=st.lists(_PATH_NAMES, min_size=1, max_size=4))
    def test_same_value_or_error_as_the_sandbox(self, payload, path):
        """For any payload and path, the value (or the error) equals the sandbox's."""
        from hookline.templating import _evaluate, _lone_expression, render_structure

        source = "{{ payload." + ".".join(path) + " }}"
        ctx = RenderContext(event={}, payload=payload, headers={}, query={})
        try:
            expected = _evaluate(_lone_expression(source), source, ctx)
        except TemplateError:
            with pytest.raises(TemplateError):
                render_structure(Template(source), ctx)
        else:
            assert render_structure(Template(source), ctx) == expected

    @pytest.mark.parametrize(
        ("source", "plain"),
        [
            ("{{ payload.data.object.metadata.order_id }}", True),
            ("  {{headers.x_request_id}} ", True),
            ("{{ payload.items }}", False),  # a dict method: the sandbox decides
            ("{{ payload._private }}", False),
            ("{{ payload.data['id'] }}", False),
            ("{{ payload.amount / 100 }}", False),
            ("Order {{ payload.id }}", False),
            ("{{ secrets.token }}", False),  # not a render variable
        ],
    )
    def test_only_plain_paths_are_taken_out_of_the_sandbox(self, source, plain):
        from hookline.templating import _plain_path

        assert (_plain_path(source) is not None) is plain


class TestLiteralTemplates:
    @given(
        text=st.one_of(st.text(max_size=40), st.text(st.sampled_from("ab \r\n\t<&>_*é"))),
        escape=st.sampled_from(["none", "html", "markdown"]),
    )
    def test_text_without_markup_renders_like_jinja(self, text, escape):
        """Skipping Jinja for text without `{` gives exactly what Jinja would have rendered."""
        from hookline.templating import _env

        ctx = RenderContext(event={}, payload=None, headers={}, query={})
        expected = _env(escape, strict=True).from_string(text).render(ctx.variables())
        assert Template(text).render(ctx, escape=escape) == expected
