#!/usr/bin/env bash
# Re-run the outputs pasted in README.md: `noticedesk demo` (its own fresh noticedesk-demo.db), then the
# triage of two samples and `case show 1 --lang ja` on another fresh database.
# Usage: scripts/docs/readme.sh OUTPUT_FOLDER
set -euo pipefail
source "$(dirname "$0")/lib.sh"

mkdir demo triage
cd demo
run 'noticedesk demo'

cd ../triage
cp -r "$repo/noticedesk/demo/samples" samples
run 'noticedesk triage samples/02-abuse-report-port-scan.eml samples/03-abuse-report-port-scan-reminder.eml'
run 'noticedesk case show 1 --lang ja'
drop_trailing_blanks
