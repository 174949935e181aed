"""What people do on a case page: tick the checklist, plan, apply and undo fixes, save and send
the reply. Each goes through the use case the CLI uses, with the logged-in user as the actor."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from noticedesk.aws.actions import mask_secrets
from noticedesk.cases.queries import check_item
from noticedesk.remediation.runner import ApplyRequest, Remediation, RunReport
from noticedesk.replies import draft_reply
from noticedesk.replies.formats import as_eml
from noticedesk.replies.record import mark_sent
from noticedesk.replies.saved import save_draft, saved_draft
from noticedesk.web.context import WebContext, case_id_of, principal
from noticedesk.web.render import labels, page


def remediation(ctx: WebContext) -> Remediation:
    return Remediation(ctx.engine, ctx.clients(), ctx.config.fixes, ctx.clock)


def dry_run(ctx: WebContext, case_id: int, who: str, override: bool = False) -> RunReport:
    """What ``fix apply`` would do now: planned and stored, nothing called."""
    request = ApplyRequest(confirmed=False, verified_override=override, requested_by=who)
    return Remediation(ctx.engine, _no_clients, ctx.config.fixes, ctx.clock).apply(case_id, request)


class _NoClients:
    """A dry run calls no AWS API: planning reads the stored diagnosis only."""

    def client(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a dry run reached for an AWS client")


_no_clients: Any = _NoClients()


def reply_text(ctx: WebContext, case_id: int) -> str:
    saved = saved_draft(ctx.engine, case_id)
    return saved.text if saved is not None else draft_reply(ctx.engine, case_id, ctx.clock()).body


def eml(ctx: WebContext, case_id: int) -> str:
    now = ctx.clock()
    draft = draft_reply(ctx.engine, case_id, now)
    saved = saved_draft(ctx.engine, case_id)
    if saved is not None:
        draft = dataclasses.replace(draft, body=saved.text)
    return as_eml(draft, now)


def routes(ctx: WebContext) -> list[Route]:
    async def tick(request: Request) -> Response:
        case_id = case_id_of(request)
        form = await request.form()
        done = form.get("done", "1") != "0"
        await ctx.run(
            check_item,
            ctx.engine,
            case_id,
            request.path_params["item"],
            principal(request).name,
            ctx.clock(),
            done,
        )
        return RedirectResponse(f"/cases/{case_id}#checklist", status_code=303)

    async def plan(request: Request) -> Response:
        case_id = case_id_of(request)
        report = await ctx.run(dry_run, ctx, case_id, principal(request).name, True)
        return _result(ctx, request, case_id, report)

    async def apply_confirm(request: Request) -> Response:
        case_id = case_id_of(request)
        override = request.query_params.get("override") == "1"
        report = await ctx.run(dry_run, ctx, case_id, principal(request).name, override)
        return _confirm(
            ctx,
            request,
            "confirm_apply",
            case_id,
            report.selected,
            report.skipped,
            override=report.override is not None or override,
            action=f"/cases/{case_id}/apply",
        )

    async def apply(request: Request) -> Response:
        case_id = case_id_of(request)
        form = await request.form()
        chosen = tuple(str(value) for value in form.getlist("action"))
        request_ = ApplyRequest(
            action_ids=chosen,
            confirmed=True,
            verified_override=form.get("override") == "1",
            requested_by=principal(request).name,
        )
        report = await ctx.run(lambda: remediation(ctx).apply(case_id, request_))
        return _result(ctx, request, case_id, report)

    async def undo_confirm(request: Request) -> Response:
        action_id = request.path_params["action_id"]
        record, _ = await ctx.run(lambda: remediation(ctx).undo(action_id, False, principal(request).name))
        return _confirm(
            ctx,
            request,
            "confirm_undo",
            record.case_id,
            [record],
            [],
            override=False,
            action=f"/actions/{action_id}/undo",
        )

    async def undo(request: Request) -> Response:
        action_id = request.path_params["action_id"]
        record, _ = await ctx.run(lambda: remediation(ctx).undo(action_id, True, principal(request).name))
        return RedirectResponse(f"/cases/{record.case_id}#actions", status_code=303)

    async def reply(request: Request) -> Response:
        case_id = case_id_of(request)
        form = await request.form()
        text = str(form.get("text") or "")
        who = principal(request).name
        if form.get("do") == "sent":
            await ctx.run(
                mark_sent,
                ctx.engine,
                case_id,
                text or await ctx.run(reply_text, ctx, case_id),
                ctx.clock(),
                who,
            )
        else:
            await ctx.run(save_draft, ctx.engine, case_id, text, ctx.clock(), who)
        return RedirectResponse(f"/cases/{case_id}#reply", status_code=303)

    async def reply_eml(request: Request) -> Response:
        case_id = case_id_of(request)
        body = await ctx.run(eml, ctx, case_id)
        return Response(
            body,
            media_type="message/rfc822",
            headers={"content-disposition": f'attachment; filename="case-{case_id}-reply.eml"'},
        )

    guard = ctx.gate.guard
    return [
        Route("/cases/{case_id}/checklist/{item}", guard("operator", tick), methods=["POST"]),
        Route("/cases/{case_id}/plan", guard("operator", plan), methods=["POST"]),
        Route("/cases/{case_id}/apply", guard("admin", apply_confirm), methods=["GET"]),
        Route("/cases/{case_id}/apply", guard("admin", apply), methods=["POST"]),
        Route("/actions/{action_id}/undo", guard("admin", undo_confirm), methods=["GET"]),
        Route("/actions/{action_id}/undo", guard("admin", undo), methods=["POST"]),
        Route("/cases/{case_id}/reply", guard("operator", reply), methods=["POST"]),
        Route("/cases/{case_id}/reply.eml", guard("viewer", reply_eml), methods=["GET"]),
    ]


def _result(ctx: WebContext, request: Request, case_id: int, report: RunReport) -> Response:
    return page(
        request,
        ctx.reader(request),
        "result.html.j2",
        ctx.clock(),
        case_id=case_id,
        dry_run=report.dry_run,
        records=report.results or report.selected,
        skipped=report.skipped,
        masked=mask_secrets,
    )


def _confirm(
    ctx: WebContext,
    request: Request,
    heading: str,
    case_id: int,
    records: Sequence[Any],
    skipped: Sequence[Any],
    *,
    override: bool,
    action: str,
) -> Response:
    """The page that asks an admin to confirm an apply (``confirm_apply``) or an undo."""
    reader = ctx.reader(request)
    return page(
        request,
        reader,
        "confirm.html.j2",
        ctx.clock(),
        heading=labels()[reader.lang][heading],
        case_id=case_id,
        records=records,
        skipped=skipped,
        override=override,
        undo=heading == "confirm_undo",
        action=action,
        masked=mask_secrets,
    )
