"""The `hookline` command. Config is loaded here, once, and passed down explicitly.

Precedence for settings: flag > HOOKLINE_* environment variable > config file > default.
Exit codes: 0 ok, 1 runtime error, 2 configuration or usage error.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Column, Table

from hookline import __version__, logs
from hookline.config.loader import load
from hookline.config.models import Config
from hookline.errors import ConfigError, ConfigErrors, HooklineError
from hookline.models import DeliveryStatus, EventFilter
from hookline.redact import Redactor, redact_url, url_password
from hookline.store.base import Store, open_store

app = typer.Typer(
    name="hookline",
    help="Self-hosted webhook gateway: receive, verify, store, route and deliver webhooks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", envvar="HOOKLINE_CONFIG", help="Config file (YAML).")
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        envvar="HOOKLINE_DATABASE_URL",
        help="Database URL or SQLite path (default: hookline.db beside the config).",
    ),
]
HostOption = Annotated[str | None, typer.Option(envvar="HOOKLINE_HOST", help="Bind address.")]
PortOption = Annotated[int | None, typer.Option(envvar="HOOKLINE_PORT", help="Bind port.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs, tracebacks.")]
JsonLogsOption = Annotated[bool, typer.Option("--json-logs", help="Log as JSON lines.")]


def main() -> None:
    app()


def _load(path: Path) -> Config:
    try:
        return load(path)
    except ConfigErrors as exc:
        for error in exc.errors:
            typer.echo(str(error), err=True)
        raise typer.Exit(2) from None


def _database(config: Config, path: Path, database: str | None) -> str:
    if database:
        return database
    if config.database:
        return config.database
    return str(path.resolve().parent / "hookline.db")


def _redactor(config: Config, path: Path, database: str | None) -> Redactor:
    """Scrubs the config's secrets and the database password from every log line."""
    password = url_password(_database(config, path, database))
    return Redactor([*config.secrets(), *([password] if password else [])])


def _store(config: Config, path: Path, database: str | None) -> Store:
    try:
        return open_store(_database(config, path, database), config_dir=path.resolve().parent)
    except ConfigError as exc:
        typer.echo(f"{path}: {exc}", err=True)
        raise typer.Exit(2) from None


def _fail(exc: HooklineError, verbose: bool = False) -> typer.Exit:
    typer.echo(f"error: {exc.message}", err=True)
    cause = exc.__cause__
    while cause is not None:
        typer.echo(f"  caused by: {cause}", err=True)
        cause = cause.__cause__
    return typer.Exit(1)


@app.command()
def version() -> None:
    """Print Hookline's version."""
    out.print(__version__)


@app.command()
def check(config: ConfigOption = Path("hookline.yaml")) -> None:
    """Validate a config file: every key, provider, action, condition and template."""
    loaded = _load(config)
    warnings = [
        f"{config}: sources.{name}.verify.provider: 'none' accepts unauthenticated requests"
        for name, source in loaded.sources.items()
        if source.verify.provider == "none"
    ]
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"{config}: OK ({len(loaded.sources)} source(s), {len(loaded.routes)} route(s))")


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the sample.")] = Path(
        "hookline.yaml"
    ),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented sample config (Stripe → Telegram)."""
    from importlib import resources

    if path.exists() and not force:
        typer.echo(f"{path} exists; use --force to overwrite", err=True)
        raise typer.Exit(2)
    sample = (resources.files("hookline") / "sample.yaml").read_text(encoding="utf-8")
    path.write_text(sample, encoding="utf-8")
    typer.echo(f"wrote {path}; check it with: hookline check -c {path}")


def _serve(
    config_path: Path,
    database: str | None,
    host: str | None,
    port: int | None,
    *,
    with_worker: bool,
    verbose: bool,
    json_logs: bool,
    reuse_port: bool = False,
) -> None:
    import uvicorn

    from hookline.app import create_app
    from hookline.runtime import Runtime

    config = _load(config_path)
    logs.configure(
        verbose=verbose, json=json_logs, redactor=_redactor(config, config_path, database)
    )
    store = _store(config, config_path, database)
    # Only `run` (the one-command quickstart) creates the schema of an empty database; a
    # schema that is behind is always refused with the fix (`hookline migrate`).
    runtime = Runtime(config, store, with_worker=with_worker, migrate=False, create=with_worker)
    bind_host = host or config.server.host
    bind_port = config.server.port if port is None else port
    roles = "HTTP and worker" if with_worker else "HTTP only"
    where = redact_url(_database(config, config_path, database))
    typer.echo(
        f"Hookline {__version__} listening on http://{bind_host}:{bind_port} "
        f"({roles}; database {where})",
        err=True,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(runtime),
            host=bind_host,
            port=bind_port,
            lifespan="on",
            log_config=None,
            log_level="warning",
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=int(config.delivery.timeout.total_seconds()) + 10,
        )
    )
    _freeze_startup_objects()
    server.run(sockets=[_reuse_port_socket(bind_host, bind_port)] if reuse_port else None)
    if not server.started:
        raise typer.Exit(1)


def _freeze_startup_objects() -> None:
    """Hide what startup built (imports, config, the app: ~90k objects) from the cycle
    collector. Each full collection walked them all, ~40 ms with the GIL held, which showed
    as stalls of the event loop and in the ingest p99. Frozen objects are still freed by
    reference counting; only cycle detection skips them, and they live for the process."""
    gc.collect()
    gc.freeze()


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket several `serve` processes can share: the kernel spreads new
    connections across them (SO_REUSEPORT), with no proxy in front."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


@app.command()
def run(
    config: ConfigOption = Path("hookline.yaml"),
    database: DatabaseOption = None,
    host: HostOption = None,
    port: PortOption = None,
    verbose: VerboseOption = False,
    json_logs: JsonLogsOption = False,
) -> None:
    """Start the HTTP server and the delivery worker in one process."""
    _serve(config, database, host, port, with_worker=True, verbose=verbose, json_logs=json_logs)


@app.command()
def serve(
    config: ConfigOption = Path("hookline.yaml"),
    database: DatabaseOption = None,
    host: HostOption = None,
    port: PortOption = None,
    verbose: VerboseOption = False,
    json_logs: JsonLogsOption = False,
    reuse_port: Annotated[
        bool, typer.Option(help="Share the port with other `serve` processes (SO_REUSEPORT).")
    ] = False,
) -> None:
    """Start the HTTP server only (ingest, API); run workers separately."""
    _serve(config, database, host, port, with_worker=False, verbose=verbose,
           json_logs=json_logs, reuse_port=reuse_port)  # fmt: skip


@app.command()
def worker(
    config: ConfigOption = Path("hookline.yaml"),
    database: DatabaseOption = None,
    verbose: VerboseOption = False,
    json_logs: JsonLogsOption = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            envvar="HOOKLINE_WORKER_METRICS_PORT",
            help="Serve this worker's /metrics on this port (its attempt metrics live here).",
        ),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Bind address for --metrics-port.")
    ] = "127.0.0.1",
) -> None:
    """Start a delivery worker only. SIGTERM drains in-flight deliveries; a second forces."""
    from hookline.deliver.metrics_endpoint import start_metrics_endpoint
    from hookline.deliver.worker import Worker

    loaded = _load(config)
    redactor = _redactor(loaded, config, database)
    logs.configure(verbose=verbose, json=json_logs, redactor=redactor)
    store = _store(loaded, config, database)

    async def main() -> None:
        await store.open(migrate=False)
        endpoint = None
        try:
            if metrics_port is not None:
                endpoint = await start_metrics_endpoint(
                    loaded, store, host=metrics_host, port=metrics_port
                )
            runner = Worker(loaded, store, redactor=redactor)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, _stop_or_force, runner)
            await runner.run()
        finally:
            if endpoint is not None:
                await endpoint.cleanup()
            await store.aclose()

    _freeze_startup_objects()
    try:
        with asyncio.Runner(loop_factory=_fast_loop_factory()) as runner:
            runner.run(main())
    except HooklineError as exc:
        raise _fail(exc, verbose) from None


def _fast_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (it comes with uvicorn's standard extra, and `serve`
    already runs on it through uvicorn), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _stop_or_force(runner: Any) -> None:
    if runner._stopping.is_set():  # second signal: leave; leases expire and others take over
        os._exit(1)
    runner.stop()


@app.command()
def migrate(config: ConfigOption = Path("hookline.yaml"), database: DatabaseOption = None) -> None:
    """Apply pending database migrations."""
    loaded = _load(config)
    store = _store(loaded, config, database)

    async def main() -> None:
        await store.open(migrate=True)
        await store.aclose()

    try:
        asyncio.run(main())
    except HooklineError as exc:
        raise _fail(exc) from None
    typer.echo("database schema is up to date")


def _with_store(config: Path, database: str | None, work: Any) -> Any:
    loaded = _load(config)
    store = _store(loaded, config, database)

    async def main() -> Any:
        await store.open(migrate=False)
        try:
            return await work(loaded, store)
        finally:
            await store.aclose()

    try:
        return asyncio.run(main())
    except HooklineError as exc:
        raise _fail(exc) from None


@app.command()
def events(
    config: ConfigOption = Path("hookline.yaml"),
    database: DatabaseOption = None,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    type: Annotated[str | None, typer.Option(help="Only this event type.")] = None,
    status: Annotated[
        DeliveryStatus | None, typer.Option(help="Only events with a delivery in this status.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List stored events, newest first."""
    from hookline.views import summary_json

    query = EventFilter(source=source, type=type, status=status, limit=limit)
    found = _with_store(config, database, lambda _c, store: store.list_events(query))
    if as_json:
        sys.stdout.write(orjson.dumps([summary_json(e) for e in found]).decode() + "\n")
        return
    table = Table("received", "source", "type", "external id", "deliveries")
    table.columns.insert(0, Column("id", no_wrap=True, min_width=30))
    for e in found:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(e.deliveries.items())) or "-"
        table.add_row(e.id, e.received_at.strftime("%Y-%m-%d %H:%M:%S"), e.source,
                      e.type or "-", e.external_id or "-", counts)  # fmt: skip
    out.print(table)


@app.command()
def event(
    event_id: Annotated[str, typer.Argument(help="The event's id (evt_...).")],
    config: ConfigOption = Path("hookline.yaml"),
    database: DatabaseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one event: headers, payload, deliveries and every attempt."""
    from hookline.errors import NotFoundError
    from hookline.views import event_json

    async def fetch(loaded: Config, store: Store) -> dict[str, Any]:
        found = await store.get_event(event_id)
        if found is None:
            raise NotFoundError(f"no event {event_id}")
        deliveries = await store.deliveries_for(event_id)
        return event_json(found, deliveries, Redactor(loaded.secrets()))

    shown = _with_store(config, database, fetch)
    if as_json:
        sys.stdout.write(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    _print_event(shown)


def _print_event(shown: dict[str, Any]) -> None:
    out.print(
        f"[bold]{shown['id']}[/bold]  {shown['source']}  {shown['type'] or '-'}  "
        f"external id {shown['external_id'] or '-'}  received {shown['received_at']}"
    )
    if isinstance(shown["payload"], dict | list):
        out.print_json(data=shown["payload"])
    else:
        out.print(repr(shown["payload"]), markup=False)
    for d in shown["deliveries"]:
        out.print(f"\n[bold]{d['id']}[/bold]  route {d['route']} → {d['action']}  "
                  f"[{d['status']}]  attempts {d['attempts']}", highlight=False)  # fmt: skip
        if d["last_error"]:
            typer.echo(f"  last error: {d['last_error']}")
        for a in d["history"]:
            typer.echo(
                f"  #{a['number']} {a['started_at']} {a['duration_ms']:.0f} ms {a['outcome']}"
                f" {a['status_code'] or ''} {a['error'] or ''}"
            )


@app.command()
def replay(
    target_id: Annotated[
        str, typer.Argument(help="An event id (evt_...) or delivery id (dlv_...).")
    ],
    config: ConfigOption = Path("hookline.yaml"),
    database: DatabaseOption = None,
) -> None:
    """Replay an event through the current routes, or start a new series for one delivery."""
    from hookline.replay import replay_delivery, replay_event

    async def work(loaded: Config, store: Store) -> str:
        if target_id.startswith("dlv_"):
            delivery = await replay_delivery(store, target_id)
            return f"delivery {delivery.id} queued again ({delivery.route} → {delivery.action})"
        created = await replay_event(loaded, store, target_id)
        return f"event {target_id} replayed: {len(created)} new delivery(ies)"

    typer.echo(_with_store(config, database, work))


@app.command()
def trigger(
    provider: Annotated[str, typer.Argument(help="Provider: stripe, github, slack, ...")],
    event_type: Annotated[
        str | None, typer.Argument(help="Sample event (default: the provider's usual one).")
    ] = None,
    url: Annotated[
        str, typer.Option(help="Where to send it, e.g. http://127.0.0.1:8080/hooks/stripe.")
    ] = "",
    secret: Annotated[
        str | None,
        typer.Option(envvar="HOOKLINE_TRIGGER_SECRET", help="The source's secret (basic: U:P)."),
    ] = None,
    payload: Annotated[
        Path | None, typer.Option(help="Send this file as the body instead of the sample.")
    ] = None,
) -> None:
    """Send a provider's sample event, signed as the provider signs, and print the answer."""
    import time

    from hookline.trigger import TriggerError, build, send

    if not url:
        typer.echo("error: --url is required", err=True)
        raise typer.Exit(2)
    try:
        body = None if payload is None else payload.read_bytes()
        request = build(
            provider, event_type, url=url, secret=secret, now=int(time.time()), payload=body
        )
    except OSError as exc:
        typer.echo(f"error: cannot read {payload}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    except TriggerError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{provider} {request.event_type} → {url}", err=True)
    try:
        status, reason, text = asyncio.run(send(request))
    except HooklineError as exc:
        raise _fail(exc) from None
    typer.echo(f"{status} {reason}".rstrip())
    typer.echo(text)
    if not 200 <= status < 300:
        raise typer.Exit(1)
