"""The JSON API under ``/api/``: what the pages show and do, for scripts and the pages' own calls.

Browser sessions send the CSRF token as ``X-CSRF-Token`` on every POST/PUT; API tokens need none.
"""

from __future__ import annotations

from datetime import timedelta
from importlib.metadata import version
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.routing import Route

from noticedesk.accounts.registry import account_names
from noticedesk.cases.board import STATUSES, board_page
from noticedesk.cases.queries import check_item
from noticedesk.feedback.alarms import Thresholds, evaluate
from noticedesk.feedback.events import normalise_address
from noticedesk.feedback.history import daily_rates
from noticedesk.feedback.manual import lift, suppress
from noticedesk.feedback.rates import local_rates
from noticedesk.feedback.suppressions import find_suppression, search_suppressions
from noticedesk.remediation.runner import ApplyRequest, RunReport
from noticedesk.replies import owner_summary
from noticedesk.replies.record import mark_sent
from noticedesk.replies.saved import save_draft, saved_draft
from noticedesk.web.case_actions import dry_run, remediation, reply_text
from noticedesk.web.context import WebContext, case_id_of, principal
from noticedesk.web.openapi import Endpoint, JsonResponse, Param, document, route
from noticedesk.web.pages import KINDS, PAGE_SIZE, board_filter, offset_of
from noticedesk.web.views import case_view

_INT = {"type": "integer", "minimum": 1, "maximum": 999_999_999_999}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChecklistChange(_Body):
    done: bool = True


class ApplyBody(_Body):
    actions: list[str] = Field(default_factory=list, max_length=100)
    verified_override: bool = False
    confirm: bool = False
    """False: a dry run (what would be applied, nothing called)."""


class UndoBody(_Body):
    confirm: bool = False


class ReplyText(_Body):
    text: str = Field(max_length=100_000)


class SentReply(_Body):
    text: str | None = Field(default=None, max_length=100_000)
    """What was sent; none: the current draft."""


class NewSuppression(_Body):
    address: str = Field(max_length=320)
    ses_reason: Literal["BOUNCE", "COMPLAINT"] = "BOUNCE"
    reason: str = Field(min_length=1, max_length=500)


class Lifting(_Body):
    reason: str = Field(min_length=1, max_length=500)


def report_json(report: RunReport) -> dict[str, Any]:
    return {
        "case_id": report.case_id,
        "dry_run": report.dry_run,
        "override": report.override,
        "actions": [record.to_json() for record in (report.results or report.selected)],
        "skipped": [{"id": record.id, "reason": reason} for record, reason in report.skipped],
    }


def endpoints(ctx: WebContext) -> list[Endpoint]:
    async def me(request: Request, _: None) -> dict[str, Any]:
        who = principal(request)
        return {"name": who.name, "role": who.role, "via": who.via}

    async def list_cases(request: Request, _: None) -> dict[str, Any]:
        params = request.query_params
        limit = min(int(params["limit"]), 500) if params.get("limit", "").isdigit() else PAGE_SIZE
        now = ctx.clock()

        def read() -> dict[str, Any]:
            with ctx.engine.connect() as connection:
                found = board_page(connection, board_filter(params), now, max(limit, 1), offset_of(params))
                names = account_names(connection, [case.account_id for case in found.cases])
            answer = found.to_json(now)
            for case in answer["cases"]:
                case["account_name"] = names.get(case["account_id"] or "")
            return answer

        return dict(await ctx.run(read))

    async def get_case(request: Request, _: None) -> dict[str, Any]:
        case_id, now = case_id_of(request), ctx.clock()
        view = await ctx.run(case_view, ctx.engine, case_id, now, "en", principal(request).role)
        return {
            **view["case"].to_json(now),
            "account_name": view["account_name"],
            "findings": [finding.to_json() for finding in view["findings"]],
            "actions": [record.to_json() for record in view["records"]],
            "reply": {
                "text": view["draft_text"],
                "saved_by": view["saved"].saved_by if view["saved"] else None,
            },
            "apply_blocked": view["apply_blocked"],
        }

    async def tick(request: Request, body: ChecklistChange) -> dict[str, Any]:
        case_id, item = case_id_of(request), request.path_params["item"]
        done = await ctx.run(
            check_item, ctx.engine, case_id, item, principal(request).name, ctx.clock(), body.done
        )
        return {
            "key": done.key,
            "done_at": done.done_at.isoformat() if done.done_at else None,
            "done_by": done.done_by,
        }

    async def plan(request: Request, _: None) -> dict[str, Any]:
        return report_json(await ctx.run(dry_run, ctx, case_id_of(request), principal(request).name, True))

    async def apply(request: Request, body: ApplyBody) -> dict[str, Any]:
        case_id, who = case_id_of(request), principal(request).name
        if not body.confirm:
            return report_json(await ctx.run(dry_run, ctx, case_id, who, body.verified_override))
        wanted = ApplyRequest(tuple(body.actions), True, body.verified_override, False, who)
        return report_json(await ctx.run(lambda: remediation(ctx).apply(case_id, wanted)))

    async def undo(request: Request, body: UndoBody) -> dict[str, Any]:
        action_id, who = request.path_params["action_id"], principal(request).name
        record, done = await ctx.run(lambda: remediation(ctx).undo(action_id, body.confirm, who))
        return {**record.to_json(), "dry_run": not done}

    async def get_reply(request: Request, _: None) -> dict[str, Any]:
        case_id = case_id_of(request)
        text = await ctx.run(reply_text, ctx, case_id)
        saved = await ctx.run(saved_draft, ctx.engine, case_id)
        return {
            "case_id": case_id,
            "text": text,
            "saved_by": saved.saved_by if saved else None,
            "saved_at": saved.saved_at.isoformat() if saved else None,
        }

    async def put_reply(request: Request, body: ReplyText) -> dict[str, Any]:
        case_id, who = case_id_of(request), principal(request).name
        saved = await ctx.run(save_draft, ctx.engine, case_id, body.text, ctx.clock(), who)
        return {
            "case_id": case_id,
            "text": saved.text,
            "saved_by": saved.saved_by,
            "saved_at": saved.saved_at.isoformat(),
        }

    async def reply_sent(request: Request, body: SentReply) -> dict[str, Any]:
        case_id, who = case_id_of(request), principal(request).name
        text = body.text if body.text is not None else await ctx.run(reply_text, ctx, case_id)
        sent = await ctx.run(mark_sent, ctx.engine, case_id, text, ctx.clock(), who)
        return {
            "case_id": case_id,
            "status": sent.status,
            "previous_status": sent.previous_status,
            "sent_by": who,
        }

    async def summary(request: Request, _: None) -> dict[str, Any]:
        case_id = case_id_of(request)
        lang = "ja" if request.query_params.get("lang") == "ja" else "en"
        return {
            "case_id": case_id,
            "lang": lang,
            "text": await ctx.run(owner_summary, ctx.engine, case_id, lang, ctx.clock()),
        }

    async def suppressed(request: Request, _: None) -> Any:
        address = normalise_address(request.path_params["address"])
        if address is None:
            return JsonResponse({"error": "not an e-mail address"}, status_code=400)

        def look_up() -> dict[str, Any]:
            with ctx.engine.connect() as connection:
                found = find_suppression(connection, address)
            if found is None:
                return {"address": address, "suppressed": False, "known": False}
            return {**found.to_json(ctx.clock()), "known": True}

        return await ctx.run(look_up)

    async def suppressions(request: Request, _: None) -> dict[str, Any]:
        needle = (request.query_params.get("q") or "")[:320]

        def read() -> list[dict[str, Any]]:
            with ctx.engine.connect() as connection:
                return [item.to_json(ctx.clock()) for item in search_suppressions(connection, needle)]

        return {"suppressions": await ctx.run(read)}

    async def add_suppression(request: Request, body: NewSuppression) -> dict[str, Any]:
        def write() -> dict[str, Any]:
            with ctx.engine.begin() as connection:
                made = suppress(
                    connection,
                    body.address,
                    body.ses_reason,
                    body.reason,
                    principal(request).name,
                    ctx.clock(),
                )
            return made.to_json(ctx.clock())

        return dict(await ctx.run(write))

    async def remove_suppression(request: Request, body: Lifting) -> dict[str, Any]:
        address = request.path_params["address"]

        def write() -> dict[str, Any]:
            with ctx.engine.begin() as connection:
                lifted = lift(connection, address, body.reason, principal(request).name, ctx.clock())
            return lifted.to_json(ctx.clock())

        return dict(await ctx.run(write))

    async def rates(request: Request, _: None) -> dict[str, Any]:
        raw = request.query_params.get("days", "14")
        days = min(max(int(raw), 1), 90) if raw.isdigit() and len(raw) < 4 else 14
        now = ctx.clock()

        def read() -> dict[str, Any]:
            with ctx.engine.connect() as connection:
                series = daily_rates(connection, now, days)
                rates_now = local_rates(connection, now, timedelta(days=ctx.config.ses.rate_window_days))
            alarms = evaluate(rates_now, Thresholds.from_config(ctx.config.ses))
            return {
                "series": [item.to_json() for item in series],
                "alarms": [alarm.to_json() for alarm in alarms],
            }

        return dict(await ctx.run(read))

    case = Param("case_id", _INT, "path")
    search = (
        Param("q", {"type": "string", "maxLength": 200}, description="title, reference, account or #id"),
        Param("account", {"type": "string", "maxLength": 12}),
        Param("kind", {"type": "string", "enum": list(KINDS)}),
        Param("status", {"type": "string", "enum": ["open", "all", *STATUSES]}),
        Param("overdue", {"type": "boolean"}),
        Param("offset", {"type": "integer", "minimum": 0, "maximum": 99_999_999}),
        Param("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
    )
    return [
        Endpoint("GET", "/api/me", "viewer", "Who is calling, with which role", me),
        Endpoint(
            "GET", "/api/cases", "viewer", "The board: open cases, nearest deadline first", list_cases, search
        ),
        Endpoint("GET", "/api/cases/{case_id}", "viewer", "One case in full", get_case, (case,)),
        Endpoint(
            "POST",
            "/api/cases/{case_id}/checklist/{item}",
            "operator",
            "Tick or reopen a checklist item",
            tick,
            (case,),
            ChecklistChange,
        ),
        Endpoint(
            "POST", "/api/cases/{case_id}/plan", "operator", "Plan the fixes (a dry run)", plan, (case,)
        ),
        Endpoint(
            "POST",
            "/api/cases/{case_id}/apply",
            "admin",
            "Apply fixes (confirm: true) or dry-run them",
            apply,
            (case,),
            ApplyBody,
        ),
        Endpoint(
            "POST",
            "/api/actions/{action_id}/undo",
            "admin",
            "Undo an applied fix (confirm: true)",
            undo,
            (),
            UndoBody,
        ),
        Endpoint(
            "GET",
            "/api/cases/{case_id}/reply",
            "viewer",
            "The reply draft (saved text, else composed)",
            get_reply,
            (case,),
        ),
        Endpoint(
            "PUT",
            "/api/cases/{case_id}/reply",
            "operator",
            "Save an edited reply draft",
            put_reply,
            (case,),
            ReplyText,
        ),
        Endpoint(
            "POST",
            "/api/cases/{case_id}/reply/sent",
            "operator",
            "Record the reply as sent",
            reply_sent,
            (case,),
            SentReply,
        ),
        Endpoint(
            "GET",
            "/api/cases/{case_id}/summary",
            "viewer",
            "The owner's summary",
            summary,
            (case, Param("lang", {"type": "string", "enum": ["ja", "en"]})),
        ),
        Endpoint("GET", "/api/ses/suppressed/{address}", "viewer", "May this address be mailed?", suppressed),
        Endpoint(
            "GET",
            "/api/ses/suppressions",
            "viewer",
            "Search the suppression list",
            suppressions,
            (Param("q", {"type": "string", "maxLength": 320}),),
        ),
        Endpoint(
            "POST",
            "/api/ses/suppressions",
            "operator",
            "Add an address, with a reason",
            add_suppression,
            (),
            NewSuppression,
        ),
        Endpoint(
            "POST",
            "/api/ses/suppressions/{address}/remove",
            "operator",
            "Lift an address, with a reason",
            remove_suppression,
            (),
            Lifting,
        ),
        Endpoint(
            "GET",
            "/api/ses/rates",
            "viewer",
            "Daily rates per account and identity, and the alarms now",
            rates,
            (Param("days", {"type": "integer", "minimum": 1, "maximum": 90}),),
        ),
    ]


def routes(ctx: WebContext) -> list[Route]:
    table = endpoints(ctx)
    spec = document(table, version("noticedesk"))

    async def openapi(request: Request) -> JsonResponse:
        return JsonResponse(spec)

    return [
        *(route(ctx.gate, endpoint) for endpoint in table),
        Route("/openapi.json", ctx.gate.guard("viewer", openapi, api=True), methods=["GET"]),
    ]
