#!/usr/bin/env bash
# Re-run docs/fixes.md "When the account changes back": the walkthrough's session up to
# `fix apply 1` (its output goes to setup.txt), then the leaked key turned back on with another
# credential of the intruder's, a new diagnosis, `fix plan 1`, `fix apply 1 --yes` and the
# timeline of case 1. Usage: scripts/docs/recontain.sh OUTPUT_FOLDER
set -euo pipefail
source "$(dirname "$0")/lib.sh"

start_moto
walkthrough_setup
{
    noticedesk triage notices/*
    noticedesk diagnose 1 --regions ap-northeast-1,us-west-2
    noticedesk fix apply 1 --yes --i-have-verified-this-notice --by sato || true
} >"$out/setup.txt" 2>&1

# The intruder, with another key of theirs, turns the deactivated one back on.
python -c 'import json; from noticedesk.aws.clients import ClientFactory; from noticedesk.demo.aws import DEMO_ACCOUNT
planted = json.load(open("planted.json"))
iam = ClientFactory(role_name="noticedesk").client("iam", None, DEMO_ACCOUNT)
iam.update_access_key(UserName=planted["leaked_user"], AccessKeyId=planted["leaked_key"], Status="Active")'

run 'noticedesk diagnose 1 --regions ap-northeast-1,us-west-2 --only-failed'
run 'noticedesk fix plan 1'
run 'noticedesk fix apply 1 --yes --i-have-verified-this-notice --by sato'
run 'noticedesk case show 1'
drop_trailing_blanks
