#!/usr/bin/env bash
# Re-run the outputs pasted in docs/triage.md "Output" and "Cases": copies of fixture mails, the
# Health events of tests/data/health/events.jsonl and a text file that is no mail, triaged into a
# fresh database at terminal width 150, then the board and case commands on what they filed.
# Usage: scripts/docs/triage.sh OUTPUT_FOLDER
set -euo pipefail
source "$(dirname "$0")/lib.sh"

export COLUMNS=150
mails="$repo/tests/data/mails"
cp "$mails"/{abuse-subject-portscan,compromised-subject,ses-bounce-subject,account-hold-ja,abuse-resolved}.eml .
cp "$repo/tests/data/health/events.jsonl" .
printf 'just some notes\nnothing here is a mail\n' >notes.txt

run 'noticedesk triage abuse-subject-portscan.eml compromised-subject.eml ses-bounce-subject.eml account-hold-ja.eml events.jsonl notes.txt'
run 'echo $?'
run 'noticedesk triage --json abuse-resolved.eml'
run 'noticedesk cases'
run 'noticedesk cases --json | head -1'
run 'noticedesk case show 2'
run 'noticedesk case check 1 stop-activity --by alice'
run 'noticedesk case check 1 no-such-item'
run 'echo $?'
