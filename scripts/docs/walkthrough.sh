#!/usr/bin/env bash
# Re-run the session of docs/walkthrough.md: its Setup against a moto server on a free port, then
# every `$ ` command after the Setup, in order. Usage: scripts/docs/walkthrough.sh OUTPUT_FOLDER
set -euo pipefail
source "$(dirname "$0")/lib.sh"

start_moto
walkthrough_setup

run 'noticedesk triage notices/*'
run 'echo $?'
run 'noticedesk diagnose 1 --regions ap-northeast-1,us-west-2'
run 'echo $?'
run 'noticedesk fix plan 1'
run 'echo $?'
run 'noticedesk fix apply 1 --yes --i-have-verified-this-notice --by sato'
run 'echo $?'
run 'noticedesk reply 1'
run 'echo $?'
run 'noticedesk summary 1 --lang ja'
run 'echo $?'
drop_trailing_blanks
