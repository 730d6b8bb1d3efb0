"""Running the server: command-line security options, logging set-up, startup warnings, uvicorn.

``shelfwise serve`` registers :func:`add_serve_options` and passes :func:`config_from_args`'s
:class:`~shelfwise.serve.config.ServeConfig` to :func:`run_server`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TypedDict

from shelfwise.serve.capacity import DEFAULT_KEEP_ALIVE_S, Capacity, default_workers, env_overrides
from shelfwise.serve.config import (
    ENV_API_KEY,
    Limits,
    ServeConfig,
    load_api_keys,
    parse_hosts,
    parse_origins,
    startup_warnings,
)
from shelfwise.shelf import Shelf

log = logging.getLogger("shelfwise.serve")


class UvicornOptions(TypedDict):
    """The uvicorn settings every ``shelfwise serve`` process runs with (one or several workers)."""

    host: str
    log_level: str
    access_log: bool
    server_header: bool
    timeout_keep_alive: int


def uvicorn_options(config: ServeConfig) -> UvicornOptions:
    """uvicorn settings for ``config``: its own access log and ``server_header`` off, idle keep-alive
    connections kept ``capacity.keep_alive_s`` (see :data:`~shelfwise.serve.capacity.DEFAULT_KEEP_ALIVE_S`)."""
    return UvicornOptions(
        host=config.bind_host,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_keep_alive=config.capacity.keep_alive_s,
    )


def add_serve_options(p: argparse.ArgumentParser) -> None:
    """Security and operations flags of ``shelfwise serve``."""
    g = p.add_argument_group("security")
    g.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help=f"key required for POST /events and admin routes (repeatable; visible in 'ps': prefer "
        f"--api-key-file or {ENV_API_KEY})",
    )
    g.add_argument("--api-key-file", type=Path, default=None, help="file with one API key per line")
    g.add_argument(
        "--allowed-hosts",
        action="append",
        default=[],
        metavar="HOSTS",
        help="Host header names served, comma-separated (default: localhost, 127.0.0.1, ::1 and --host; a list "
        "given here replaces that default, so add localhost if local clients use it; '*' allows any, "
        "'*.example.com' subdomains)",
    )
    g.add_argument(
        "--cors-origins",
        action="append",
        default=[],
        metavar="ORIGINS",
        help="web origins whose pages may call the API from the browser (CORS), comma-separated, e.g. "
        "https://shop.example.com; '*' any (default: none; the storefront at / needs none). Browsers should "
        "only read: send events with the API key from your servers, never from a page",
    )
    d = Limits()
    g.add_argument("--max-body-bytes", type=int, default=d.max_body_bytes, help="request body limit (413)")
    g.add_argument("--max-id-bytes", type=int, default=d.max_id_bytes, help="limit of every id-like text field")
    g.add_argument("--max-query-bytes", type=int, default=d.max_query_bytes, help="limit of query text")
    g.add_argument("--max-batch", type=int, default=d.max_batch, help="events per POST /events")
    g.add_argument("--no-access-log", action="store_true", help="do not write JSON access log lines to stdout")
    add_capacity_options(p)


def add_capacity_options(p: argparse.ArgumentParser) -> None:
    """Worker processes and overload flags (default: for this machine's cores; SHELFWISE_<NAME> env vars)."""
    g = p.add_argument_group("capacity (per worker process; env SHELFWISE_WORKERS, SHELFWISE_MAX_INFLIGHT, ...)")
    g.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"serving processes sharing the port, each mapping the shelf's index files (default: cores, at most 2; "
        f"here {default_workers()}); 1 serves in this process",
    )
    g.add_argument(
        "--max-inflight",
        type=int,
        default=None,
        help="requests run at once; 0 turns load shedding off (default: 2 x cores per worker + 2)",
    )
    g.add_argument("--max-queue", type=int, default=None, help="requests waiting for a slot; beyond: 503 + Retry-After")
    g.add_argument("--queue-timeout", type=float, default=None, help="seconds a request may wait for a slot (then 503)")
    g.add_argument(
        "--queue-target",
        type=float,
        default=None,
        help="seconds a request may wait while the queue stands (not empty for --queue-interval s)",
    )
    g.add_argument(
        "--queue-interval", type=float, default=None, help="seconds of non-empty queue that count as standing"
    )
    g.add_argument(
        "--encode-threads",
        type=int,
        default=None,
        help="query-encoder threads (default: cores per worker); 0 encodes in request threads",
    )
    g.add_argument("--encode-queue", type=int, default=None, help="query encodings waiting for a thread (then 503)")
    g.add_argument(
        "--keep-alive",
        type=int,
        default=None,
        metavar="SECONDS",
        help=f"seconds an idle keep-alive connection stays open (default {DEFAULT_KEEP_ALIVE_S}; longer than "
        "clients keep theirs, so that the server never closes one as its client reuses it)",
    )


def capacity_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Capacity:
    """Flags over ``SHELFWISE_*`` environment variables (``env``, default the process's; parsed once)
    over :meth:`Capacity.for_machine` defaults for the worker count those give."""
    from_env = env_overrides(env)
    flags = {
        "workers": getattr(args, "workers", None),
        "max_inflight": getattr(args, "max_inflight", None),
        "max_queue": getattr(args, "max_queue", None),
        "queue_timeout_s": getattr(args, "queue_timeout", None),
        "queue_target_s": getattr(args, "queue_target", None),
        "queue_interval_s": getattr(args, "queue_interval", None),
        "encode_threads": getattr(args, "encode_threads", None),
        "encode_queue": getattr(args, "encode_queue", None),
        "keep_alive_s": getattr(args, "keep_alive", None),
    }
    chosen = {**from_env, **{k: v for k, v in flags.items() if v is not None}}
    workers = chosen.setdefault("workers", default_workers())
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    return replace(Capacity.for_machine(workers=workers), **chosen)


def config_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> ServeConfig:
    """The :class:`ServeConfig` the flags of :func:`add_serve_options` (plus ``--host``) describe;
    keys also come from ``SHELFWISE_API_KEY`` in ``env`` (default: the process environment)."""
    return ServeConfig(
        bind_host=args.host,
        api_keys=load_api_keys(args.api_key, args.api_key_file, env),
        allowed_hosts=parse_hosts(args.allowed_hosts),
        cors_origins=parse_origins(args.cors_origins),
        limits=Limits(
            max_body_bytes=args.max_body_bytes,
            max_id_bytes=args.max_id_bytes,
            max_query_bytes=args.max_query_bytes,
            max_batch=args.max_batch,
        ),
        access_log=not args.no_access_log,
        capacity=capacity_from_args(args, env),
    )


def configure_logging(config: ServeConfig) -> None:
    """Access log lines (bare JSON) to stdout; server warnings to stderr. Idempotent."""
    access = logging.getLogger("shelfwise.access")
    if config.access_log and not access.handlers:
        h = logging.StreamHandler(sys.stdout)
        h.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(h)
        access.setLevel(logging.INFO)
        access.propagate = False
    if not log.handlers:
        w = logging.StreamHandler(sys.stderr)
        w.setFormatter(logging.Formatter("%(levelname)s shelfwise: %(message)s"))
        log.addHandler(w)
        log.setLevel(logging.INFO)
        log.propagate = False


def warn_at_startup(config: ServeConfig) -> list[str]:
    """Log (WARNING) every :func:`startup_warnings` line; return them."""
    lines = startup_warnings(config)
    for line in lines:
        log.warning(line)
    return lines


def run_server(
    shelf: Shelf,
    config: ServeConfig,
    port: int,
    report: Path | None = None,
    prepare: Callable[[Path], Shelf] | None = None,
) -> None:
    """Serve until stopped; SIGHUP reloads the shelf folder (as ``POST /admin/reload``)."""
    import uvicorn

    from shelfwise.serve.app import create_app
    from shelfwise.serve.reload import install_sighup

    configure_logging(config)
    warn_at_startup(config)
    app = create_app(shelf, report=report, config=config, prepare=prepare)
    install_sighup(app.state.reloader)
    print(f"serving on http://{config.bind_host}:{port}  (API docs: /docs, metrics: /metrics)")
    uvicorn.run(app, port=port, **uvicorn_options(config))
