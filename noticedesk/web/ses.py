"""The SES page: rates over time with AWS's levels, alarms, the suppression list (search, add,
remove with a reason, CSV export)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from noticedesk.feedback.alarm_state import raised_alarms
from noticedesk.feedback.alarms import Thresholds, evaluate
from noticedesk.feedback.history import daily_rates
from noticedesk.feedback.manual import lift, suppress
from noticedesk.feedback.rates import local_rates
from noticedesk.feedback.suppressions import search_suppressions
from noticedesk.notices.levels import SES_LEVELS
from noticedesk.web.chart import rate_chart
from noticedesk.web.context import WebContext, principal
from noticedesk.web.render import labels, page

CHART_DAYS = 14
CSV_COLUMNS = (
    "address",
    "suppressed",
    "reason",
    "cause",
    "expires_at",
    "hard_bounce_count",
    "soft_bounce_count",
    "complaint_count",
    "at_ses",
    "last_event_at",
    "reasons",
)


def ses_overview(ctx: WebContext, needle: str) -> dict[str, Any]:
    """What the SES page shows: read through the feedback use cases."""
    now = ctx.clock()
    window = timedelta(days=ctx.config.ses.rate_window_days)
    with ctx.engine.connect() as connection:
        series = daily_rates(connection, now, CHART_DAYS)
        current = evaluate(local_rates(connection, now, window), Thresholds.from_config(ctx.config.ses))
        raised = {alarm.alarm_key: alarm for alarm in raised_alarms(connection)}
        found = search_suppressions(connection, needle)
    return {"series": series, "alarms": current, "raised": list(raised.values()), "suppressions": found}


def csv_text(ctx: WebContext, needle: str) -> str:
    now = ctx.clock()
    with ctx.engine.connect() as connection:
        found = search_suppressions(connection, needle, limit=1_000_000)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in found:
        row = item.to_json(now)
        writer.writerow(
            [
                *(_cell(row[name]) for name in CSV_COLUMNS[:-1]),
                " | ".join(str(reason) for reason in row["reasons"]),
            ]
        )
    return out.getvalue()


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def routes(ctx: WebContext) -> list[Route]:
    async def ses_page(request: Request) -> Response:
        needle = (request.query_params.get("q") or "").strip()[:320]
        reader = ctx.reader(request)
        words = labels()[reader.lang]
        now = ctx.clock()
        view = await ctx.run(ses_overview, ctx, needle)
        start = datetime.combine((now - timedelta(days=CHART_DAYS - 1)).date(), time(), tzinfo=now.tzinfo)
        accounts = [item for item in view["series"] if item.scope == "account"]
        charts = [
            rate_chart(
                accounts,
                metric,
                SES_LEVELS[metric],
                start=start,
                days=CHART_DAYS,
                level_words=(words["review_level"], words["pause_level"]),
                title=words[f"{metric}_chart"],
            )
            for metric in ("bounce", "complaint")
        ]
        identities = [item for item in view["series"] if item.scope == "identity"]
        return page(
            request,
            reader,
            "ses.html.j2",
            now,
            charts=charts,
            identities=identities,
            needle=needle,
            may_operate=principal(request).role in ("operator", "admin"),
            **{key: value for key, value in view.items() if key != "series"},
        )

    async def export(request: Request) -> Response:
        needle = (request.query_params.get("q") or "").strip()[:320]
        body = await ctx.run(csv_text, ctx, needle)
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="suppressions.csv"'},
        )

    async def change(request: Request) -> Response:
        form = await request.form()
        address = str(form.get("address") or "")
        note = str(form.get("reason") or "")
        who = principal(request).name

        def write() -> None:
            with ctx.engine.begin() as connection:
                if form.get("do") == "remove":
                    lift(connection, address, note, who, ctx.clock())
                else:
                    suppress(
                        connection, address, str(form.get("ses_reason") or "BOUNCE"), note, who, ctx.clock()
                    )

        try:
            await ctx.run(write)
        except ValueError as error:
            reader = ctx.reader(request)
            words = labels()[reader.lang]
            return page(
                request,
                reader,
                "message.html.j2",
                ctx.clock(),
                400,
                heading=words["error"],
                message=str(error),
                back="/ses",
            )
        return RedirectResponse(f"/ses?q={address}", status_code=303)

    guard = ctx.gate.guard
    return [
        Route("/ses", guard("viewer", ses_page), methods=["GET"]),
        Route("/ses/suppressions.csv", guard("viewer", export), methods=["GET"]),
        Route("/ses/suppressions", guard("operator", change), methods=["POST"]),
    ]
