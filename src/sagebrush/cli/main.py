"""The ``sagebrush`` command. Every subcommand but ``serve`` talks to the server as a client."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sagebrush import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagebrush",
        description="A self-hosted machine-learning platform that speaks SageMaker's APIs.",
    )
    parser.add_argument("--version", action="version", version=f"sagebrush {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server in the foreground")
    _home_option(serve)
    serve.add_argument("--host", help="address to bind (default 127.0.0.1; SAGEBRUSH_HOST)")
    serve.add_argument(
        "--port", type=int, help="port to bind; 0 picks a free one (default 4510; SAGEBRUSH_PORT)"
    )
    serve.add_argument("--db", help="SQLAlchemy database URL (default: SQLite in the home)")
    serve.add_argument(
        "--auth",
        choices=["auto", "on", "off"],
        help="verify SigV4 signatures (auto: only when not bound to loopback)",
    )
    serve.add_argument("--region", help="default region (default us-east-1)")
    serve.add_argument("--account-id", help="the 12-digit account id (default 000000000000)")
    serve.add_argument("--log-level", help="debug, info, warning, error")
    serve.add_argument(
        "--access-log",
        action="store_true",
        default=None,
        help="log every request, not only failed ones (SAGEBRUSH_ACCESS_LOG)",
    )
    serve.add_argument(
        "--instance-quota",
        type=int,
        help="training instances that may run at once; more wait in line (default 8)",
    )
    serve.add_argument(
        "--stop-grace-seconds",
        type=float,
        help="seconds between SIGTERM and SIGKILL when a job stops (default 120)",
    )

    env = commands.add_parser("env", help="print the export lines that point clients here")
    _home_option(env)

    status = commands.add_parser(
        "status", help="what the server holds and runs: jobs, endpoints, processes, disk use"
    )
    _home_option(status)
    status.add_argument("--json", action="store_true", help="print the raw JSON")

    logs = commands.add_parser(
        "logs",
        help="print a job's logs (CloudWatch Logs streams); --follow: until the job ends",
        description=(
            "Print the log streams NAME/* of --group. With --follow, keep printing new "
            "events until the job ends (the group says its kind: training, transform or "
            "processing job; for /aws/sagemaker/Endpoints, the endpoint NAME until it is "
            "deleted or fails), then print its final status on stderr. Exit status: 0 when "
            "the job Completed (or the endpoint was deleted); 1 when it Failed or was "
            "Stopped (by a user or by MaxRuntimeInSeconds), or without --follow when no "
            "stream exists; 2 when NAME is no job of the group's kind. Other groups, and "
            "kinds the server does not track, are followed until Ctrl-C."
        ),
    )
    _home_option(logs)
    logs.add_argument("name", help="job (or endpoint) name: the streams under <name>/ are printed")
    logs.add_argument(
        "--group",
        default="/aws/sagemaker/TrainingJobs",
        help="log group (default /aws/sagemaker/TrainingJobs)",
    )
    logs.add_argument(
        "--follow",
        "-f",
        action="store_true",
        help="keep printing new events until the job ends; exit 0 if it Completed, else 1",
    )

    tuning = commands.add_parser(
        "tuning", help="a live table of a hyperparameter tuning job's training jobs"
    )
    _home_option(tuning)
    tuning.add_argument("name", help="the hyperparameter tuning job")
    tuning.add_argument(
        "--interval",
        type=_positive_seconds,
        default=2.0,
        help="seconds between refreshes (default 2)",
    )
    tuning.add_argument(
        "--once", action="store_true", help="print one snapshot and exit, even while it runs"
    )
    return parser


def _home_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", help="data directory (default ~/.local/share/sagebrush)")


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from sagebrush.cli.serve import serve

        return serve(args)
    if args.command == "env":
        from sagebrush.cli.client import print_env

        return print_env(args)
    if args.command == "logs":
        from sagebrush.cli.logs import print_logs

        return print_logs(args)
    if args.command == "tuning":
        from sagebrush.cli.tuning import watch_tuning

        return watch_tuning(args)
    if args.command == "status":
        from sagebrush.cli.client import print_status

        return print_status(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
