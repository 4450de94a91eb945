"""The audit log, for administrators."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from afisha_core.domain import AuditAction
from afisha_core.errors import Forbidden, TotpSetupRequired, ValidationFailed
from afisha_starlette import schemas as s
from afisha_starlette.endpoints import Endpoint, QueryParam
from afisha_starlette.parsing import (
    query_cursor,
    query_datetime,
    query_enum,
    query_limit,
    query_uuid,
)
from afisha_starlette.routes._shared import CURSOR, LIMIT, admin_of, page_of
from afisha_starlette.runtime import Runtime

__all__ = ["ENDPOINTS"]


async def list_audit_log(request: Request, rt: Runtime) -> Response:
    admin = await admin_of(request, rt)
    page = await rt.afisha.audit.list_entries(
        admin,
        actor_id=query_uuid(request, "actor_id"),
        action=query_enum(request, "action", AuditAction),
        target_id=query_uuid(request, "target_id"),
        starts_from=query_datetime(request, "from"),
        starts_before=query_datetime(request, "to"),
        limit=query_limit(request),
        cursor=query_cursor(request),
    )
    items = [s.AuditEntryOut.of(e) for e in page.items]
    return page_of(rt, s.AuditList, items, page.next_cursor)


ENDPOINTS: list[Endpoint] = [
    Endpoint(method="GET", path="/v1/audit-log", handler=list_audit_log, tag="audit",
             summary="The audit log, newest first", access="admin", response=s.AuditList,
             query=(QueryParam(name="actor_id", schema={"type": "string", "format": "uuid"}),
                    QueryParam(name="action", schema={"type": "string",
                                                      "enum": [a.value for a in AuditAction]}),
                    QueryParam(name="target_id", schema={"type": "string", "format": "uuid"}),
                    QueryParam(name="from", schema={"type": "string", "format": "date-time"},
                               description="Entries at or after this instant."),
                    QueryParam(name="to", schema={"type": "string", "format": "date-time"},
                               description="Entries before this instant."),
                    LIMIT, CURSOR),
             errors=(Forbidden, TotpSetupRequired, ValidationFailed)),
]  # fmt: skip
