"""The ``serve`` command: the database in Datasette, read-only (``pipeline.serve``)."""

from __future__ import annotations

import click

from pipeline.cli.common import load


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535))
@click.option("--open", "open_browser", is_flag=True, help="Open it in the web browser.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, open_browser: bool) -> None:
    """Browse everything stored in Datasette, read-only (loopback unless --host)."""
    from pipeline.serve import LOOPBACK, ServeError, check_database, check_port, run

    config = load(ctx)
    path = config.settings.db_path
    try:
        check_database(path)
        check_port(host, port)
    except ServeError as e:
        click.echo(f"lendwatch serve: {e}", err=True)
        raise SystemExit(e.code) from e
    if host not in LOOPBACK:
        click.echo(
            f"warning: serving {path} on {host}, reachable beyond this machine and without"
            " authentication; bind to 127.0.0.1 unless a proxy in front checks who asks",
            err=True,
        )
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/{path.stem}"
    click.echo(f"serving {path} read-only at {url} (Ctrl-C stops)")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    run(path, host, port)


COMMANDS: list[click.Command] = [serve]
