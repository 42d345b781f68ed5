# Sourced by scripts/test and scripts/bench: a project-local Python venv with moto's server
# (the AWS API emulator), and moto started on a free loopback port for the rest of the script.
#
#   source scripts/moto.sh
#   ensure_moto_venv     # installs scripts/requirements-test.txt into $venv once
#   start_moto           # exports MOTO_ENDPOINT and dummy AWS credentials; stops moto on exit

venv=${VENV:-.venv}

ensure_moto_venv() {
    local requirements=scripts/requirements-test.txt
    local stamp
    stamp="$venv/.installed-$(sha256sum "$requirements" | cut -c1-16)"
    if [[ ! -f "$stamp" ]]; then
        echo "installing moto into $venv ..." >&2
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
        touch "$stamp"
    fi
}

moto_answers() {
    "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$1/moto-api/')" 2>/dev/null
}

start_moto() {
    local port
    port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p target
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >target/moto_server.log 2>&1 &
    moto_pid=$!
    trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
    for _ in $(seq 1 100); do
        if moto_answers "$port"; then
            break
        fi
        if ! kill -0 "$moto_pid" 2>/dev/null; then
            echo "moto_server failed to start; see target/moto_server.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    if ! moto_answers "$port"; then
        echo "moto_server did not answer within 10 s; see target/moto_server.log" >&2
        exit 1
    fi
    export MOTO_ENDPOINT="http://127.0.0.1:$port"
    # Requests are signed for moto only: fixed dummy credentials, never a developer's real ones.
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
    echo "moto_server on $MOTO_ENDPOINT" >&2
}
