"""A reply says what is true now and only what AWS should read (issues 13 and 14): the latest
outcome of each action, no operator instruction or tool diagnostic in the body, a root cause from
the case, prevention only as the case shows it, and the full key id AWS named."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from test_replies_compose import NOW, _context

from noticedesk.cases.queries import ChecklistItem
from noticedesk.cases.runbooks import checklist_for
from noticedesk.errors import ReplyError
from noticedesk.notices.model import ABUSE_TYPES, Facts
from noticedesk.replies.compose import VARIANTS, compose_reply
from noticedesk.replies.gather import ActionRecord, FindingCounts, FindingRow
from noticedesk.replies.phrasebook import kinds, phrases, prevention_table
from noticedesk.replies.summary import compose_summary

KEY = "AKIAQWERTYUIOPASDFGH"
INSTANCE = "i-0fedcba9876543210"
OPERATOR_PHRASES = (
    "say so in the reply",
    "before sending",
    "before you send",
    "noticedesk",
    "checklist",
    "keep only",
    "reword",
    "not implemented",
    "not-implemented",
    "no action recorded yet",
    "could not be read",
    "(draft",
)


def _action(event: str, minutes: int, action_id: str = "a1", action: str = "instance-stop") -> ActionRecord:
    at = NOW - timedelta(hours=2) + timedelta(minutes=minutes)
    return ActionRecord(at, event, action_id, action, INSTANCE, "us-west-2", "111122223333", True, "me")


def _finding(check: str, status: str, detail: str, resource: str | None = None) -> FindingRow:
    return FindingRow(
        check, status, "high", "111122223333", None, resource, detail, {}, NOW - timedelta(hours=3)
    )


def test_an_action_that_failed_then_succeeded_is_reported_once_as_done() -> None:
    actions = (_action("action-failed", 0, "A-1-1"), _action("action-applied", 10, "A-1-2"))
    context = _context("abuse-report", actions=actions)
    draft = compose_reply(context, NOW)
    # Once (this context's timeline holds only the notice): the failure is not told beside it.
    assert draft.body.count("Stopped the instance i-0fedcba9876543210") == 1
    assert not any("failed" in warning for warning in draft.warnings)
    for lang in ("en", "ja"):
        summary = compose_summary(context, lang, NOW)  # type: ignore[arg-type]
        assert "失敗" not in summary and "FAILED" not in summary and "Retry" not in summary
        assert summary.count("i-0fedcba9876543210") == 1


def test_only_what_is_still_failed_or_undone_is_warned_about() -> None:
    repaired = (_action("action-failed", 0, "x"), _action("action-applied", 5, "x"))
    still = (
        _action("action-failed", 1, "y", "instance-isolate"),
        _action("action-failed", 6, "y", "instance-isolate"),
    )
    undone = (
        _action("action-applied", 2, "z", "instance-terminate"),
        _action("action-undone", 7, "z", "instance-terminate"),
    )
    context = _context("abuse-report", actions=(*repaired, *still, *undone))
    warnings = compose_reply(context, NOW).warnings
    assert [w for w in warnings if "failed" in w] == [
        "Action instance-isolate on i-0fedcba9876543210 failed at 2026-11-28 10:06 UTC and has not "
        "succeeded since; the reply does not mention it."
    ]
    assert len([w for w in warnings if "undone" in w]) == 1
    japanese = compose_summary(context, "ja", NOW)
    assert japanese.count("失敗した対応のやり直し") == 1
    # An action applied again after an undo stands again.
    again = _context(
        "abuse-report", actions=(*undone, _action("action-applied", 9, "z2", "instance-terminate"))
    )
    assert "Terminated the unauthorised instance" in compose_reply(again, NOW).body


@pytest.mark.parametrize("kind", sorted(kinds()))
def test_no_operator_instruction_or_tool_diagnostic_reaches_aws(kind: str) -> None:
    """Every template, both drafts, every abuse type: the body holds none of the runbook steps
    (instructions to us) and none of the phrases only a person at NoticeDesk should read."""
    for abuse_type in ABUSE_TYPES if kind == "abuse-report" else ("other",):
        types = (abuse_type,) if kind == "abuse-report" else ()
        steps = checklist_for(kind, types)
        checklist = tuple(ChecklistItem(step.key, step.en, step.ja, None, None) for step in steps)
        failing = _finding(
            "block-public-access",
            "error",
            "not judged, ec2:GetImageBlockPublicAccessState could not be read (not-implemented): "
            "The get_image_block_public_access_state action has not been implemented",
        )
        facts = Facts(account_id="111122223333", abuse_types=types, instance_ids=(INSTANCE,))
        for variant in VARIANTS:
            done = tuple(ChecklistItem(i.key, i.text_en, i.text_ja, NOW, "me") for i in checklist)
            context = _context(
                kind,
                facts,
                checklist=done if variant == "resolution" else checklist,
                findings=(failing,),
                counts=FindingCounts(error=1),
            )
            body = compose_reply(context, NOW, variant=variant).body
            lowered = body.lower()
            for phrase in OPERATOR_PHRASES:
                assert phrase not in lowered, f"{kind}/{abuse_type}/{variant}: {phrase!r} in the body"
            for step in steps:
                assert step.en not in body, f"{kind}/{abuse_type}: runbook step {step.key} in the body"


def test_the_reply_names_the_full_key_aws_named_and_masks_any_other() -> None:
    other = "AKIAZZZZZZZZZZZZWXYZ"
    facts = Facts(
        account_id="111122223333",
        access_key_ids=(KEY,),
        iam_users=("ci-deployer",),
        exposed_urls=("https://github.com/example/repo/blob/main/.env",),
    )
    deactivate = ActionRecord(  # the store keeps the key masked in the action's detail
        NOW, "action-applied", "k", "access-key-deactivate", "AKIA…DFGH", None, "111122223333", True, "me"
    )
    rotate = ActionRecord(
        NOW, "action-applied", "o", "access-key-delete", other, None, "111122223333", True, "me"
    )
    context = _context("account-compromised", facts, actions=(deactivate, rotate))
    draft = compose_reply(context, NOW)
    assert f"Access key {KEY} of IAM user ci-deployer: deactivated (2026-11-28 12:00 UTC)" in draft.body
    assert f"- Deactivated the exposed access key {KEY} (2026-11-28 12:00 UTC)." in draft.body
    assert other not in draft.body and "AKIA…WXYZ" in draft.body
    assert (
        f"The access key {KEY} of IAM user ci-deployer was published at "
        "https://github.com/example/repo/blob/main/.env" in draft.body
    )
    assert KEY not in " ".join(draft.warnings) and KEY not in compose_summary(context, "ja", NOW)


def test_the_reply_says_what_cloudtrail_showed_and_asks_for_billing() -> None:
    activity = FindingRow(
        "key-activity",
        "fail",
        "critical",
        "111122223333",
        None,
        "AKIA…DFGH",
        "AKIA…DFGH made 42 call(s)",
        {
            "access_key_id": KEY,
            "calls": 42,
            "source_ips": {"198.51.100.7": 40, "198.51.100.8": 2},
            "regions": {"us-west-2": 42},
            "top_events": {"RunInstances": 30, "CreateUser": 1},
        },
        NOW,
    )
    context = _context("account-compromised", Facts(access_key_ids=(KEY,)), findings=(activity,))
    draft = compose_reply(context, NOW)
    assert (
        f"CloudTrail shows 42 call(s) made with {KEY} from 198.51.100.7, 198.51.100.8 in us-west-2; "
        "the calls were RunInstances, CreateUser." in draft.body
    )
    assert any("Billing and Cost Explorer" in warning for warning in draft.warnings)
    assert "What CloudTrail shows\n" in draft.body and "billing" not in draft.body
    reviewed = ChecklistItem("check-billing", "Check Billing.", "請求を確認します。", NOW, "me")
    billed = compose_reply(
        _context(
            "account-compromised", Facts(access_key_ids=(KEY,)), findings=(activity,), checklist=(reviewed,)
        ),
        NOW,
    )
    assert "What CloudTrail and billing show" in billed.body
    assert (
        "- We reviewed the charges of the account by service and region in Billing and Cost Explorer."
        in billed.body
    )


def test_root_cause_is_a_sentence_about_the_reported_resource_not_every_finding() -> None:
    facts = Facts(account_id="111122223333", instance_ids=(INSTANCE,), abuse_types=("port-scan",))
    related = _finding(
        "security-groups", "fail", f"sg-1 (open-ssh) allows tcp/22 from 0.0.0.0/0; used by {INSTANCE}"
    )
    unrelated = _finding(
        "security-groups", "fail", "sg-2 (web) allows tcp/3389 from 0.0.0.0/0; used by i-0aaaaaaaaaaaaaaaa"
    )
    mfa = _finding("console-mfa", "fail", "ops-console signs in to the console without MFA", "ops-console")
    context = _context("abuse-report", facts, findings=(related, unrelated, mfa))
    body = compose_reply(context, NOW).body
    cause = body.split("Root cause\n----------\n")[1].split("\n\n")[0]
    assert cause == (
        f"The reported port scanning came from instance {INSTANCE}. Our investigation found that "
        f"sg-1 (open-ssh) allows tcp/22 from 0.0.0.0/0; used by {INSTANCE}."
    )
    assert "sg-2" not in body and "MFA" not in body


def test_prevention_states_only_measures_in_place_and_never_contradicts_a_finding() -> None:
    facts = Facts(account_id="111122223333", access_key_ids=(KEY,))
    no_mfa = _finding("console-mfa", "fail", "ops-console signs in to the console without MFA", "ops-console")
    with_mfa = _finding("console-mfa", "pass", "admin uses MFA", "admin")
    root = _finding("root-access-keys", "pass", "The root user has no active access key")
    context = _context("account-compromised", facts, findings=(no_mfa, with_mfa, root))
    draft = compose_reply(context, NOW, variant="resolution")
    assert "multi-factor" not in draft.body  # one console user has no MFA: the measure is not in place
    assert "- The root user has no access key." in draft.body
    assert any("multi-factor" in warning for warning in draft.warnings)  # offered to the person
    acknowledgement = compose_reply(context, NOW, variant="acknowledgement").body
    assert "Preventing a recurrence" not in acknowledgement


def test_every_measure_names_a_check_action_or_step_that_exists() -> None:
    from noticedesk.aws.actions import ACTIONS
    from noticedesk.aws.checks.catalogue import BY_ID

    actions = {action.name for action in ACTIONS}
    table = prevention_table()
    for kind, entry in table.items():
        groups = [entry.get("measure", [])] + [t.get("measure", []) for t in entry.get("types", {}).values()]
        types = tuple(entry.get("types", {}))
        steps = {step.key for step in checklist_for(kind, types)}
        for measure in (m for group in groups for m in group):
            assert {"check", "action", "step"} & set(measure), measure["en"]
            assert measure.get("check", next(iter(BY_ID))) in BY_ID, measure
            assert measure.get("action", next(iter(actions))) in actions, measure
            assert measure.get("step", next(iter(steps), "")) in steps, f"{kind}: {measure}"


def test_the_resolution_is_refused_until_the_required_items_are_done() -> None:
    open_item = ChecklistItem(
        "deactivate-key", "Deactivate the key.", "キーを非アクティブ化します。", None, None
    )
    reply_item = ChecklistItem("reply-support-case", "Reply.", "返信します。", None, None)
    context = _context("account-compromised", checklist=(open_item, reply_item))
    assert compose_reply(context, NOW).variant == "acknowledgement"
    with pytest.raises(ReplyError, match="no resolution reply yet: 1 required item"):
        compose_reply(context, NOW, variant="resolution")
    done = ChecklistItem("deactivate-key", "Deactivate the key.", "キーを非アクティブ化します。", NOW, "me")
    ready = compose_reply(_context("account-compromised", checklist=(done, reply_item)), NOW)
    assert ready.variant == "resolution" and ready.resolution_ready
    assert "We have completed our investigation" in ready.body


def test_an_account_on_hold_summary_says_what_is_needed_not_a_cause_under_investigation() -> None:
    for lang in ("en", "ja"):
        summary = compose_summary(_context("account-hold"), lang, NOW)  # type: ignore[arg-type]
        assert "調査中" not in summary and "under investigation" not in summary
        assert "terminated" not in summary and "削除されることがあります" not in summary
    assert "支払い方法" in compose_summary(_context("account-hold"), "ja", NOW)


def test_the_japanese_summary_names_findings_in_japanese() -> None:
    row = FindingRow(
        "public-amis",
        "fail",
        "critical",
        "111122223333",
        "ap-northeast-1",
        "ami-0123456789abcdef0",
        "AMI ami-0123456789abcdef0 (golden) is public: anyone can launch it and read its disks",
        {},
        NOW,
    )
    summary = compose_summary(
        _context("account-compromised", findings=(row,), counts=FindingCounts(fail=1)), "ja", NOW
    )
    assert "anyone can launch" not in summary
    assert (
        "・公開されている AMI（ami-0123456789abcdef0、ap-northeast-1）\n"
        "　AMI ami-0123456789abcdef0（ap-northeast-1）は公開" in summary
    )
    for check, entry in phrases()["check"].items():
        assert entry.get("sentence_ja"), f"[check.{check}] has no sentence_ja"
        entry["sentence_ja"].format(resource="r", region="g")


def test_japanese_texts_use_the_agreed_terms() -> None:
    texts = [str(value) for entry in kinds().values() for value in (entry.said["ja"], entry.means["ja"])]
    texts += [
        str(entry["ja"])
        for section in ("action", "mitigation", "stage")
        for entry in phrases()[section].values()
    ]
    joined = "\n".join(texts)
    for wrong in ("保護観察", "レビュー対象", "レビュー期間", "キーを無効化", "AWS の利用規約"):
        assert wrong not in joined, wrong
    assert "AWS 適正利用規約（AUP）" in joined and "AWS Trust & Safety チーム" in joined
    assert "審査期間" in joined and "評価メトリクス" in joined and "非アクティブ化" in joined


def test_an_action_found_changed_back_is_not_told_as_done() -> None:
    """Re-containment (issue 13): the key deactivated, then found Active again by a later diagnosis."""
    deactivated = ActionRecord(
        NOW - timedelta(hours=2), "action-applied", "A-1-1", "access-key-deactivate", "AKIA…DFGH", None,
        "111122223333", True, "me",
    )  # fmt: skip
    active_again = FindingRow(
        "key-owner", "fail", "critical", "111122223333", None, "AKIA…DFGH",
        "The named key is AKIA…DFGH of ci-deployer: Active", {}, NOW - timedelta(hours=1),
    )  # fmt: skip
    facts = Facts(account_id="111122223333", access_key_ids=(KEY,))
    context = _context("account-compromised", facts, actions=(deactivated,), findings=(active_again,))
    draft = compose_reply(context, NOW)
    assert "Deactivated" not in draft.body and ": deactivated" not in draft.body
    assert any("found it changed back" in warning for warning in draft.warnings)
    japanese = compose_summary(context, "ja", NOW)
    assert "その後の調査で元に戻されていることが分かりました" in japanese
    assert "元に戻された対応のやり直し" in japanese
    # Contained again (a new action id, as `fix apply` records it): told once, as done.
    again = dataclasses.replace(deactivated, at=NOW - timedelta(minutes=30), action_id="A-1-2")
    contained = _context("account-compromised", facts, actions=(deactivated, again), findings=(active_again,))
    assert "- Deactivated the exposed access key" in compose_reply(contained, NOW).body
    assert "元に戻され" not in compose_summary(contained, "ja", NOW)


def test_a_failed_undo_leaves_the_action_standing() -> None:
    applied = _action("action-applied", 0, "A-1-3")
    undo_failed = dataclasses.replace(_action("action-failed", 5, "A-1-3"), status="applied")
    context = _context("abuse-report", actions=(applied, undo_failed))
    draft = compose_reply(context, NOW)
    assert "- Stopped the instance i-0fedcba9876543210" in draft.body
    assert not any("failed" in warning for warning in draft.warnings)


def test_an_abuse_reply_says_since_when_the_activity_has_stopped() -> None:
    facts = Facts(account_id="111122223333", instance_ids=(INSTANCE,), abuse_types=("port-scan",))
    stopped = _action("action-applied", 0, "s", "instance-isolate")
    body = compose_reply(_context("abuse-report", facts, actions=(stopped,)), NOW).body
    assert (
        "The reported activity has stopped: instance i-0fedcba9876543210 has been isolated from the "
        "network since 2026-11-28 10:00 UTC." in body
    )
    assert "has stopped" not in compose_reply(_context("abuse-report", facts), NOW).body


def test_an_ses_acknowledgement_warns_that_aws_wants_the_reply_after_the_changes() -> None:
    open_item = ChecklistItem("find-cause", "Find the cause.", "原因を調べます。", None, None)
    for kind in ("ses-bounce", "ses-complaint", "ses-review", "ses-vulnerable-site"):
        ack = compose_reply(_context(kind, checklist=(open_item,)), NOW)
        assert ack.variant == "acknowledgement"
        assert any("after the changes are made" in warning for warning in ack.warnings), kind
        resolution = compose_reply(_context(kind), NOW)
        assert not any("after the changes are made" in warning for warning in resolution.warnings)
    abuse = compose_reply(_context("abuse-report", checklist=(open_item,)), NOW)
    assert not any("after the changes are made" in warning for warning in abuse.warnings)
