"""The Datasette plugin of `lendwatch serve`: ``/-/chart`` (``pipeline.chart``: flagged items
per week and topic) and its menu link. Imported only by ``pipeline.serve``."""

from __future__ import annotations

from typing import Any

from datasette import hookimpl  # type: ignore[import-untyped]
from datasette.utils.asgi import Response  # type: ignore[import-untyped]

from pipeline.chart import SQL, WEEKS, page


async def chart(datasette: Any) -> Any:
    result = await datasette.get_database().execute(SQL, [f"-{WEEKS * 7} day"])
    return Response.html(page([(str(w), str(t), int(n)) for w, t, n in result.rows]))


@hookimpl  # type: ignore[untyped-decorator]
def register_routes() -> list[tuple[str, Any]]:
    return [(r"^/-/chart$", chart)]


@hookimpl  # type: ignore[untyped-decorator]
def menu_links(datasette: Any) -> list[dict[str, str]]:
    return [{"href": datasette.urls.path("/-/chart"), "label": "每周标记图"}]
