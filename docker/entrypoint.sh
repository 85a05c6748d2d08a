#!/bin/sh
# Container entrypoint: `serve` migrates the database first (waiting for it to accept
# connections); any other command goes straight to `goalnudge`.
set -eu

say() {
    printf 'goalnudge: %s\n' "$*" >&2
}

# The CLI's own one-line message (or a traceback's exception line), else the last line.
reason() {
    { printf '%s\n' "$1" | grep -E '^[A-Za-z_][A-Za-z0-9_.]*: ' | tail -n 1 | grep . ||
        printf '%s\n' "$1" | tail -n 1; } | sed 's/^goalnudge: //'
}

if ! command -v goalnudge >/dev/null 2>&1; then
    say "goalnudge is not on PATH ($PATH)"
    exit 127
fi

# Without a trap, sh running as PID 1 would ignore `docker stop` while it waits.
trap 'exit 143' TERM
trap 'exit 130' INT

migrate() {
    wait_seconds=${GOALNUDGE_DB_WAIT_SECONDS:-30}
    case $wait_seconds in
        '' | *[!0-9]*)
            say "GOALNUDGE_DB_WAIT_SECONDS must be a whole number of seconds, not '$wait_seconds'"
            exit 2
            ;;
    esac
    started=$(date +%s)
    attempt=1
    while :; do
        status=0
        output=$(goalnudge db upgrade 2>&1) || status=$?
        if [ "$status" -eq 0 ]; then
            printf '%s\n' "$output"
            return 0
        fi
        last=$(reason "$output")
        # Exit 2 is a configuration problem (one line already): waiting cannot fix it.
        if [ "$status" -eq 2 ]; then
            printf '%s\n' "$output" >&2
            exit 2
        fi
        waited=$(($(date +%s) - started))
        if [ "$waited" -ge "$wait_seconds" ]; then
            say "could not migrate the database within ${wait_seconds}s (\`goalnudge db upgrade\` attempts: $attempt): $last"
            exit 1
        fi
        say "waiting for the database: \`goalnudge db upgrade\` failed (attempt $attempt, ${waited}s of ${wait_seconds}s): $last"
        attempt=$((attempt + 1))
        sleep 1
    done
}

if [ "${1:-}" = serve ] && [ "${GOALNUDGE_MIGRATE_ON_START:-1}" != 0 ]; then
    migrate
fi

exec goalnudge "$@"
