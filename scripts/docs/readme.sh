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
mkdir -p noticedesk/demo  # the README's paths are the repository's: as run from a fresh clone
cp -r "$repo/noticedesk/demo/samples" noticedesk/demo/samples
run 'noticedesk triage noticedesk/demo/samples/02-abuse-report-port-scan.eml noticedesk/demo/samples/03-abuse-report-port-scan-reminder.eml'
run 'noticedesk case show 1 --lang ja'
drop_trailing_blanks
