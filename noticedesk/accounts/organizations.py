"""``accounts import-org``: the member accounts AWS Organizations lists, brought into the registry.

The client is handed in (``ClientFactory().client("organizations")``): this module makes no
client of its own. New accounts are added (source ``org``, language ``en``, no channels: the
default channel until someone says otherwise); accounts imported before get their name updated;
accounts added by hand or configured are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import Connection

from noticedesk.accounts.registry import Account, find_account, save_account
from noticedesk.errors import AwsError

NOT_IN_ORGANIZATION = "AWSOrganizationsNotInUseException"


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Registered already by hand or by the configuration: not touched."""
    skipped: list[str] = field(default_factory=list)
    """Not ACTIVE in the organization (suspended, being closed)."""


def organization_accounts(client: Any) -> list[dict[str, Any]]:
    """Every account ``ListAccounts`` returns (all pages); a clear AwsError when there is no organization."""
    found: list[dict[str, Any]] = []
    try:
        for page in client.get_paginator("list_accounts").paginate():
            found.extend(page.get("Accounts", []))
        if not found:  # an organization lists its management account at least: is there one?
            client.describe_organization()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == NOT_IN_ORGANIZATION:
            raise AwsError(
                "these AWS credentials belong to an account that is not in an AWS Organization: "
                "nothing to import; add accounts with `noticedesk accounts add` or [[accounts]]"
            ) from None
        if code == "AccessDeniedException":
            raise AwsError(
                "AWS Organizations refused ListAccounts: run import-org with credentials of the "
                "management account (or a delegated administrator) allowed organizations:ListAccounts"
            ) from None
        message = error.response.get("Error", {}).get("Message", "")
        raise AwsError(f"AWS Organizations ListAccounts failed: {code}: {message}") from None
    except BotoCoreError as error:
        raise AwsError(f"AWS Organizations ListAccounts failed: {error}") from None
    return found


def import_accounts(conn: Connection, listed: list[dict[str, Any]], *, now: datetime) -> ImportReport:
    report = ImportReport()
    for entry in listed:
        account_id, name = str(entry["Id"]), str(entry.get("Name") or entry["Id"])
        if entry.get("Status", "ACTIVE") != "ACTIVE":
            report.skipped.append(account_id)
            continue
        existing = find_account(conn, account_id)
        if existing is None:
            save_account(conn, Account(account_id, name, source="org"), now=now)
            report.added.append(account_id)
        elif existing.source != "org":
            report.kept.append(account_id)
        elif existing.name != name:
            save_account(conn, replace(existing, name=name), now=now)
            report.renamed.append(account_id)
    return report
