#!/usr/bin/env bash
# Re-run the session of docs/walkthrough.md: its Setup against a moto server on a free port, then
# every `$ ` command after the Setup, in order. Usage: scripts/docs/walkthrough.sh OUTPUT_FOLDER
set -euo pipefail
source "$(dirname "$0")/lib.sh"

start_moto
export NOTICEDESK_DATABASE_URL=sqlite:///walk.db NOTICEDESK_CONFIG=noticedesk.toml
cat >noticedesk.toml <<'TOML'
[diagnose]
role_name = "noticedesk"

[fixes]
role_name = "noticedesk"
TOML
python -c 'import json; from noticedesk.aws.clients import ClientFactory; from noticedesk.demo.aws import seed_demo_account
print(json.dumps(seed_demo_account(ClientFactory(role_name="noticedesk"))))' >planted.json
mkdir notices
cp "$repo"/noticedesk/demo/samples/* notices/
# moto makes up access key ids: put the planted one into the leaked-key notice and its Health event
KEY=$(python -c "import json; print(json.load(open('planted.json'))['leaked_key'])")
sed -i "s/AKIA4DEMOLEAKEDKEY01/$KEY/g" notices/01-compromised-access-key.eml notices/11-health-risk-credentials-exposed.json

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
