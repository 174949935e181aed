#!/usr/bin/env bash
# Re-run docs/replies.md: `reply --help`, then the case its "A run" section builds (the fixture
# mail triaged, the scenario's findings and actions recorded after a first isolation that failed,
# two steps ticked) and the commands run on it: the acknowledgement, the steps ticked, the
# resolution. Usage: scripts/docs/replies.sh OUTPUT_FOLDER (setup output goes to setup.txt)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

run 'noticedesk reply --help'

ln -s "$repo/tests" tests
export NOTICEDESK_DATABASE_URL=sqlite:///replies.db
{
    noticedesk triage tests/data/replies/abuse-report.eml
    python - <<'PY'
import os, sys, tomllib
sys.path.insert(0, "tests/replies")
from replies_support import add_action, add_findings
from noticedesk.store.db import open_store

scenario = tomllib.load(open("tests/data/replies/scenarios/abuse-report.toml", "rb"))
engine = open_store(os.environ["NOTICEDESK_DATABASE_URL"])
add_findings(engine, 1, scenario["findings"], scenario["diagnosed_at"])
first = scenario["action"][0]  # a first attempt that failed; the scenario's own attempt succeeds
add_action(engine, 1, first["at"].replace(minute=50, hour=9), first["action"], first["resource_id"],
           first["region"], event="action-failed")
for action in scenario["action"]:
    add_action(engine, 1, action["at"], action["action"], action["resource_id"], action["region"])
PY
    noticedesk case check 1 identify-resource --by hanako
    noticedesk case check 1 stop-activity --by hanako
} >"$out/setup.txt" 2>&1

date -u '+%Y-%m-%d %H:%M UTC' >"$out/ran-at.txt"
run 'noticedesk reply 1'
run 'noticedesk reply 1 --variant resolution'
run 'noticedesk summary 1 --lang ja'
run 'noticedesk summary 1 --lang en'
run 'for item in check-address-still-ours find-root-cause not-abusive-say-why prevent-recurrence portscan-find-process portscan-check-authorized portscan-restrict-egress; do noticedesk case check 1 $item --by hanako; done'
run 'noticedesk reply 1'
run 'noticedesk reply 1 --format eml | head -12'
run 'noticedesk reply mark-sent 1 --by hanako'
run 'noticedesk summary 1 --lang ja | tail -n 4'
