# shellcheck shell=bash
# Sourced by the scripts in scripts/docs: the project's venv on PATH, a fresh temporary folder as
# the working directory (removed on exit, with the moto server if one was started), and `run`.
# The first argument of the script is the folder that receives the outputs.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:?usage: $0 OUTPUT_FOLDER}
mkdir -p "$out"
out=$(cd "$out" && pwd)

venv=${NOTICEDESK_VENV:-$repo/.venv}
[ -x "$venv/bin/noticedesk" ] && PATH="$venv/bin:$PATH"
if ! command -v noticedesk >/dev/null; then
    echo "error: no noticedesk: put the project's .venv/bin on PATH or set NOTICEDESK_VENV" >&2
    exit 2
fi

work=$(mktemp -d)
moto_pid=
cleanup() {
    if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit

# What the pasted outputs assume: a 130-column terminal, nothing inherited from the caller's shell.
export COLUMNS=130 PYTHONUNBUFFERED=1 NOTICEDESK_CACHE_DIR="$work/cache"
unset NOTICEDESK_DATABASE_URL NOTICEDESK_CONFIG AWS_PROFILE AWS_ENDPOINT_URL

# moto_server on a free port, with the variables the walkthrough's Setup exports.
start_moto() {
    local port
    port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    MOTO_EC2_LOAD_DEFAULT_AMIS=false moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
    moto_pid=$!
    local tries=50
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        tries=$((tries - 1))
        if [ "$tries" = 0 ]; then
            echo "error: moto_server did not answer on port $port:" >&2
            cat "$work/moto.log" >&2
            exit 2
        fi
        sleep 0.2
    done
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing \
        AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
}

# The Setup of docs/walkthrough.md after the moto server: the env vars, `noticedesk.toml`, the demo
# account seeded (`planted.json`), the samples in notices/ with the planted key put in with sed.
walkthrough_setup() {
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
    local key
    key=$(python -c "import json; print(json.load(open('planted.json'))['leaked_key'])")
    sed -i "s/AKIA4DEMOLEAKEDKEY01/$key/g" notices/01-compromised-access-key.eml notices/11-health-risk-credentials-exposed.json
}

# run 'COMMAND': run it as typed at the prompt (`echo $?` sees the previous command's status) and
# write "$ COMMAND" and what it printed, stdout and stderr as a terminal shows them, to $out/NN.txt.
n=0
status=0
run() {
    n=$((n + 1))
    local file
    file=$(printf '%s/%02d.txt' "$out" "$n")
    printf '$ %s\n' "$1" >"$file"
    { (exit "$status"); eval "$1"; } >>"$file" 2>&1 && status=0 || status=$?
}

# For documents that drop the blanks at the end of a line (rich pads centred titles with them).
drop_trailing_blanks() {
    sed -i 's/[[:space:]]*$//' "$out"/[0-9][0-9].txt
}
