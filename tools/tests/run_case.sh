#!/bin/sh
# run_case.sh - run the tenreg tool once and compare what it did with what
# the case expects. Used by the tool_* ctests (tools/CMakeLists.txt).
#
#   run_case.sh [--stdin FILE] [--stdout FILE | --stdout-match ERE]
#               [--stderr FILE] [--rc N] [--valgrind PATH] -- TOOL [ARGS...]
#
#   --stdin FILE         standard input of the tool (default /dev/null)
#   --stdout FILE        standard output must equal FILE, byte for byte
#   --stdout-match ERE   standard output must have a line matching ERE
#                        (neither given: standard output must be empty)
#   --stderr FILE        standard error must equal FILE (default: not checked)
#   --rc N               expected exit status (default 0)
#   --valgrind PATH      run the tool under valgrind; any memory error or
#                        definite/indirect leak fails the case
#
# Exits 0 when everything matched, 1 otherwise (with a diff), 2 on misuse.
set -u

stdin=/dev/null
want_out=
want_match=
want_err=
want_rc=0
valgrind=

need_value() {
    if [ "$2" -lt 2 ]; then
        echo "run_case.sh: $1 needs a value" >&2
        exit 2
    fi
}

while [ $# -gt 0 ]; do
    case $1 in
    --stdin) need_value "$1" $#; stdin=$2; shift 2 ;;
    --stdout) need_value "$1" $#; want_out=$2; shift 2 ;;
    --stdout-match) need_value "$1" $#; want_match=$2; shift 2 ;;
    --stderr) need_value "$1" $#; want_err=$2; shift 2 ;;
    --rc) need_value "$1" $#; want_rc=$2; shift 2 ;;
    --valgrind) need_value "$1" $#; valgrind=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "run_case.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
if [ $# -lt 1 ]; then
    echo "run_case.sh: no tool to run (missing '-- TOOL ARGS')" >&2
    exit 2
fi
for f in "$stdin" "$want_out" "$want_err"; do
    if [ -n "$f" ] && [ ! -r "$f" ]; then
        echo "run_case.sh: cannot read '$f'" >&2
        exit 2
    fi
done

if [ -n "$valgrind" ]; then
    # Exit status 99 marks a valgrind finding, distinct from the tool's own.
    set -- "$valgrind" --quiet --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect "$@"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tenreg-case.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT HUP INT TERM

"$@" <"$stdin" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?

failed=0
if [ "$rc" -ne "$want_rc" ]; then
    echo "exit status $rc, expected $want_rc"
    failed=1
fi
if [ -n "$want_out" ]; then
    if ! diff -a -u "$want_out" "$tmp/stdout"; then
        echo "standard output differs from $want_out (diff above: - expected, + actual)"
        failed=1
    fi
elif [ -n "$want_match" ]; then
    if ! grep -Eq -- "$want_match" "$tmp/stdout"; then
        echo "no line of standard output matches: $want_match"
        failed=1
    fi
elif [ -s "$tmp/stdout" ]; then
    echo "unexpected standard output:"
    cat "$tmp/stdout"
    failed=1
fi
if [ -n "$want_err" ]; then
    if ! diff -a -u "$want_err" "$tmp/stderr"; then
        echo "standard error differs from $want_err (diff above: - expected, + actual)"
        failed=1
    fi
fi
if [ "$failed" -ne 0 ]; then
    echo "--- command: $*"
    echo "--- standard error:"
    cat "$tmp/stderr"
fi
exit "$failed"
