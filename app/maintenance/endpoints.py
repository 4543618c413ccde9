"""The maintenance API: plan, list, end and delete windows (config scope: a
window changes who gets paged), read them, and preview what one would touch."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from app.deps import ConfigPrincipal, ReadPrincipal, RowId, RuntimeDep, SessionDep, Transaction
from app.errors import NotFound
from app.maintenance import service, store
from app.maintenance.preview import Preview, preview
from app.maintenance.schemas import WindowPublic, WindowSpec

router = APIRouter(prefix="/api/v1/maintenance", tags=["maintenance"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such window"}}


@router.post(
    "",
    response_model=WindowPublic,
    status_code=201,
    responses={409: {"description": "A window of that name exists"}},
)
async def create_window(
    body: WindowSpec, tx: Transaction, runtime: RuntimeDep, principal: ConfigPrincipal
) -> WindowPublic:
    """Plan a window, one-off (``starts_at``, ``ends_at``) or recurring (``rrule``,
    ``duration``). Alerts it covers page nobody while it is in force; with
    Alertmanager configured it becomes a silence there too."""
    now = runtime.clock.now()
    row = await service.create(tx.session, runtime.settings, body, author=principal.name, now=now)
    tx.wake()
    return WindowPublic.of(row, now=now)


@router.get("", response_model=list[WindowPublic])
async def list_windows(
    session: SessionDep, runtime: RuntimeDep, _: ReadPrincipal
) -> list[WindowPublic]:
    now = runtime.clock.now()
    return [WindowPublic.of(row, now=now) for row in await store.list_windows(session)]


@router.post("/preview", response_model=Preview)
async def preview_window(
    body: WindowSpec, session: SessionDep, runtime: RuntimeDep, _: ReadPrincipal
) -> Preview:
    """What this window would touch (nothing is saved): the firing alerts it
    covers and the on-call shifts during its next occurrences."""
    return await preview(session, body.to_window(body.name), now=runtime.clock.now())


@router.get("/{window_id}", response_model=WindowPublic, responses=NOT_FOUND)
async def get_window(
    window_id: RowId, session: SessionDep, runtime: RuntimeDep, _: ReadPrincipal
) -> WindowPublic:
    row = await store.get_window(session, window_id)
    if row is None:
        raise NotFound(f"no maintenance window {window_id}")
    return WindowPublic.of(row, now=runtime.clock.now())


@router.post("/{window_id}/end", response_model=WindowPublic, responses=NOT_FOUND)
async def end_window(
    window_id: RowId, tx: Transaction, runtime: RuntimeDep, _: ConfigPrincipal
) -> WindowPublic:
    """End the window now (a recurring one has no more occurrences). Incidents
    it held page now if their alerts still fire; its silences are expired."""
    now = runtime.clock.now()
    row = await service.end(tx.session, runtime.settings, window_id, now=now)
    if row is None:
        raise NotFound(f"no maintenance window {window_id}")
    tx.wake()
    return WindowPublic.of(row, now=now)


@router.delete("/{window_id}", status_code=204, responses=NOT_FOUND)
async def delete_window(
    window_id: RowId, tx: Transaction, runtime: RuntimeDep, _: ConfigPrincipal
) -> Response:
    """Delete the window: as ending it, and it is gone from the list."""
    row = await service.delete(tx.session, runtime.settings, window_id, now=runtime.clock.now())
    if row is None:
        raise NotFound(f"no maintenance window {window_id}")
    tx.wake()
    return Response(status_code=204)
