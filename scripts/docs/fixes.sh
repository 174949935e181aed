#!/usr/bin/env bash
# Re-run docs/fixes.md "A run": the session of docs/walkthrough.md up to `fix apply` (its Setup
# against a moto server, triage, diagnose 1, fix apply 1 with the override; their output goes to
# setup.txt), then the section's commands on it, in order: `fix plan 1 --json`, the dry run, the
# gate on case 2, deleting the still-active key of app-reader, undo, and `case show 1` for the
# timeline. Usage: scripts/docs/fixes.sh OUTPUT_FOLDER
set -euo pipefail
source "$(dirname "$0")/lib.sh"

start_moto
walkthrough_setup
{
    noticedesk triage notices/*
    noticedesk diagnose 1 --regions ap-northeast-1,us-west-2
    noticedesk fix apply 1 --yes --i-have-verified-this-notice --by sato || true
} >"$out/setup.txt" 2>&1

# Action ids follow the order of the key ids moto makes up: look up the ones the section names.
# action_id STATUS ACTION [WORD]: the one action of case 1 in that status (WORD: in its summary).
action_id() {
    noticedesk fix plan 1 --json | python -c '
import json, sys
status, action, word = (sys.argv[1:] + [""])[:3]
ids = [r["id"] for r in map(json.loads, sys.stdin) if (r["status"], r["action"]) == (status, action) and word in r["summary"]]
if len(ids) != 1:
    sys.exit(f"error: {len(ids)} {status} {action} action(s) {word}, not one")
print(ids[0])' "$@"
}
deactivated=$(action_id applied access-key-deactivate)
delete=$(action_id planned access-key-delete app-reader)
stopped=$(action_id applied instance-stop)

run 'noticedesk fix plan 1 --json'
run 'noticedesk fix apply 1 --i-have-verified-this-notice --by sato'
run 'noticedesk fix apply 2 --yes'
run 'echo $?'
run "noticedesk fix apply 1 --action $delete --yes --i-have-verified-this-notice --by sato"
run 'echo $?'
run "noticedesk fix undo $stopped"
run "noticedesk fix undo $deactivated $stopped --yes --by sato"
run 'noticedesk case show 1'
drop_trailing_blanks
