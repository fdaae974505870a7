#!/bin/sh
# Print the path of a Python >= 3.12 interpreter, best first.
#
# pgserver (the embedded PostgreSQL behind `make run`/`make test` on a bare
# machine) ships wheels for CPython 3.12 only, so 3.12 wins over newer ones.
# pyenv's `python3.12` is a shim that fails unless PYENV_VERSION is set, so
# installed pyenv versions are asked for by name as well.
set -u

# $1: a command; prints its real executable when it runs and is >= $2.$3
probe() {
    "$@" -c 'import sys; print(sys.executable)' 2>/dev/null || return 1
}
check() {  # $1 = minor lower bound, $2 = minor upper bound (inclusive), rest = command
    lo=$1 hi=$2
    shift 2
    "$@" -c "import sys; v = sys.version_info; sys.exit(not (v[0] == 3 and $lo <= v[1] <= $hi))" \
        >/dev/null 2>&1 && probe "$@"
}
pyenv_versions() {  # installed pyenv versions matching $1 (e.g. "3.12"), newest first
    command -v pyenv >/dev/null 2>&1 || return 0
    pyenv versions --bare 2>/dev/null | grep -E "^$1(\.[0-9]+)?$" | sort -t. -k3,3nr
}

find_range() {  # $1 lo, $2 hi: first interpreter with 3.lo <= version <= 3.hi
    lo=$1 hi=$2
    m=$lo
    while [ "$m" -le "$hi" ]; do
        check "$lo" "$hi" "python3.$m" && return 0
        for v in $(pyenv_versions "3\.$m"); do
            # Ask pyenv itself: a bare `python` may resolve to whichever version a parent
            # `pyenv exec` put first on PATH rather than to the shim.
            check "$lo" "$hi" "$(pyenv root)/versions/$v/bin/python3.$m" && return 0
            PYENV_VERSION=$v check "$lo" "$hi" pyenv exec python && return 0
        done
        m=$((m + 1))
    done
    check "$lo" "$hi" python3 && return 0
    check "$lo" "$hi" python && return 0
    return 1
}

find_range 12 12 && exit 0
if find_range 13 99; then
    echo "warning: no Python 3.12 found; using a newer one. pgserver has no wheels for it, so" \
        "the embedded PostgreSQL is unavailable: set DATABASE_URL to an external server." >&2
    exit 0
fi
echo "error: no Python >= 3.12 found (looked for python3.12, pyenv 3.12+/3.13+, python3, python)." >&2
echo "       Install Python 3.12 (e.g. 'pyenv install 3.12') and run make again." >&2
exit 1
