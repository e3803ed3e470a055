#!/usr/bin/env bash
# test.sh - builds tenreg and passes all its tests (the README's test command;
# .ci/run runs exactly this).
#
# Three builds, each with its own build dir and the full ctest suite:
#   build/ci-release  RelWithDebInfo, jemalloc allocator; includes the
#                     install tests (tests/consumer) and the symbol checks
#   build/ci-asan     -DTENREG_SANITIZE="address;undefined"
#   build/ci-tsan     -DTENREG_SANITIZE=thread
#   build/ci-fuzz     clang libFuzzer targets, 45 s each (fuzz/run_bounded.sh)
#   python            the Python package (python/): installed offline into
#                     build/ci-python-venv, pytest against build/ci-release's
#                     libtenreg.so (run_python below)
# Missing Debian packages are installed first (scripts/install-deps.sh).
# Every build runs even if an earlier one fails; the exit status is non-zero
# if any configure, build or test failed, or if a build ran fewer tests than
# it has (ctest -N) or lacks one it must have (required_tests below): a
# missing tool must not make tests vanish silently.
#
# Environment:
#   TENREG_JOBS                      parallel build jobs, and ctest jobs of the
#                                    release build (default 2)
#   TENREG_SAN_CTEST_JOBS            ctest jobs of the sanitizer builds
#                                    (default 1: sanitized code is 2-15x
#                                    slower, and two suites at once on two
#                                    cores starve the timing-bound tests)
#   TENREG_SANITIZER_STRESS_ITERS    TENREG_STRESS_ITERS for the sanitizer
#                                    builds (default: the tests' own counts)
#   TENREG_CI_BUILDS                 which builds to run (default
#                                    "release asan tsan fuzz python")
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# shellcheck source=install-deps.sh
source scripts/install-deps.sh
tenreg_install_deps || exit 1

jobs=${TENREG_JOBS:-2}
san_ctest_jobs=${TENREG_SAN_CTEST_JOBS:-1}
builds=${TENREG_CI_BUILDS:-release asan tsan fuzz python}
san_iters=${TENREG_SANITIZER_STRESS_ITERS:-}

# Tests every build must have: one per tests/test_*.c suite, the C++ header
# check, the tool and front tests (curl, wrk); the release build also the
# valgrind twins, the symbol check and the install tests.
required_tests() {
  local name=$1 f
  for f in "$root"/tests/test_*.c; do
    basename "$f" .c
  done
  echo test_header_cxx tool_normalize tool_resolve_hosts tool_resolve_bad_hosts \
       front_unit_http front_http_tenreg front_admin_tenreg front_hosts_tenreg \
       front_load_tenreg front_startup front_timeouts front_port front_methods front_host \
       front_reject front_edges front_fdlimit front_backpressure front_status_tenreg \
       front_unit_front front_reload_tenreg front_reload_rwlock front_reload_wrk_tenreg \
       front_reload_wrk_rwlock fuzz_normalize_replay
  if [ "$name" = release ]; then
    echo tool_normalize_valgrind check_exports install_package install_consumer_cmake_shared
  fi
}

declare -A summary
total_pass=0
total_fail=0
status=0
start_all=$(date +%s)

run_build() {
  local name=$1; shift
  local ctest_jobs=$jobs
  [ "$name" = release ] || ctest_jobs=$san_ctest_jobs
  local dir=$root/build/ci-$name
  local log=$root/build/ci-$name.log
  local t0; t0=$(date +%s)
  mkdir -p "$root/build"
  echo
  echo "=== $name: configure ($*)"
  if ! cmake -S "$root" -B "$dir" "$@" >"$log" 2>&1; then
    cat "$log"
    summary[$name]="configure FAILED"
    status=1
    return
  fi
  echo "=== $name: build"
  if ! cmake --build "$dir" -j "$jobs" >>"$log" 2>&1; then
    tail -n 60 "$log"
    summary[$name]="build FAILED (full log: $log)"
    status=1
    return
  fi
  echo "=== $name: ctest -j $ctest_jobs"
  local out=$dir/ctest-output.txt
  (cd "$dir" && ctest --output-on-failure -j "$ctest_jobs" 2>&1) | tee "$out"
  local rc=${PIPESTATUS[0]}
  # "100% tests passed, 0 tests failed out of 42"
  local line; line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -n 1)
  local secs=$(( $(date +%s) - t0 ))
  # How many tests ran, against how many the build has and must have.
  local listed expected ran notrun missing="" t
  listed=$(cd "$dir" && ctest -N 2>/dev/null | sed -n 's/^ *Test *#[0-9]*: *//p')
  expected=$(printf '%s\n' "$listed" | grep -c .)
  ran=$(grep -cE '^ *[0-9]+/[0-9]+ +Test +#[0-9]+: ' "$out")
  notrun=$(grep -E '^ *[0-9]+/[0-9]+ +Test +#[0-9]+: ' "$out" | grep -cE 'Not Run|Skipped|Disabled')
  ran=$(( ran - notrun ))
  for t in $(required_tests "$name"); do
    printf '%s\n' "$listed" | grep -qx "$t" || missing="$missing $t"
  done
  echo "=== $name: $ran of $expected tests ran (ctest -N: $expected; $notrun not run)"
  local count_note=""
  if [ "$ran" -lt "$expected" ] || [ "$expected" -eq 0 ]; then
    count_note=", only $ran of $expected tests ran"
    status=1
  fi
  if [ -n "$missing" ]; then
    echo "=== $name: required tests missing:$missing" >&2
    count_note="$count_note, missing:$missing"
    status=1
  fi
  if [ -n "$line" ]; then
    local failed total
    failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
    total_pass=$(( total_pass + total - failed ))
    total_fail=$(( total_fail + failed ))
    summary[$name]="$line; ran $ran of $expected${count_note} (${secs}s)"
  else
    summary[$name]="ctest printed no summary (exit $rc)${count_note}"
  fi
  if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    status=1
  fi
}

# ---- python (python/README.md) -------------------------------------------
# The Python package against the release build's libtenreg.so: a venv made
# with Debian's interpreter (--system-site-packages: pytest, setuptools and
# wheel come from Debian; no PyPI), the package installed offline, pytest.
# Its pass/fail counts join the totals; a run that passes no test fails.
run_python() {
  local t0; t0=$(date +%s)
  local rel=$root/build/ci-release venv=$root/build/ci-python-venv
  local log=$root/build/ci-python.log out=$root/build/ci-python-pytest.txt
  mkdir -p "$root/build"
  echo
  echo "=== python: libtenreg.so (build/ci-release), venv build/ci-python-venv"
  if ! { { [ -f "$rel/CMakeCache.txt" ] ||
           cmake -S "$root" -B "$rel" -DCMAKE_BUILD_TYPE=RelWithDebInfo; } &&
         cmake --build "$rel" -j "$jobs" --target tenreg tenreg-qsbr &&
         /usr/bin/python3 -m venv --clear --system-site-packages "$venv" &&
         "$venv/bin/python" -m pip install --no-build-isolation --no-index \
           --disable-pip-version-check "$root/python"; } >"$log" 2>&1; then
    tail -n 40 "$log"
    summary[python]="library build or package install FAILED (full log: $log)"
    status=1
    return
  fi
  echo "=== python: pytest"
  # -P: the package under test is the installed one, not python/tenreg.
  (cd "$root/python" &&
     TENREG_LIBRARY="$rel/src/libtenreg.so" timeout 300 "$venv/bin/python" -P -m pytest \
       -q -p no:cacheprovider tests 2>&1) | tee "$out"
  local rc=${PIPESTATUS[0]}
  # "3 failed, 150 passed, 2 skipped in 5.41s"; "1 error in 0.10s"
  local line; line=$(grep -E '^=*[ ]*[0-9]+ (passed|failed|errors?|skipped)' "$out" | tail -n 1 |
                     sed -E 's/^=+ *//; s/ *=+$//')
  local count passed=0 failed=0 word
  for word in passed failed error errors; do
    count=$(grep -oE "[0-9]+ $word([,; ]|$)" <<<"$line" | grep -oE '^[0-9]+' || true)
    case $word in
      passed) passed=${count:-0} ;;
      *) failed=$(( failed + ${count:-0} )) ;;
    esac
  done
  total_pass=$(( total_pass + passed ))
  total_fail=$(( total_fail + failed ))
  local secs=$(( $(date +%s) - t0 ))
  if [ -z "$line" ]; then
    summary[python]="pytest ran no test or printed no summary (exit $rc)"
    status=1
  elif [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
    summary[python]="pytest: $line FAILED (${secs}s)"
    status=1
  else
    summary[python]="pytest: $line (${secs}s)"
  fi
}

for b in $builds; do
  case $b in
    release) run_build release -DCMAKE_BUILD_TYPE=RelWithDebInfo ;;
    asan)    run_build asan -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DTENREG_SANITIZE=address;undefined" \
                       "-DTENREG_STRESS_ITERS=$san_iters" ;;
    tsan)    run_build tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTENREG_SANITIZE=thread \
                       "-DTENREG_STRESS_ITERS=$san_iters" ;;
    fuzz)    # libFuzzer, 30 s per target (clang; FUZZ_SECONDS overrides: the
             # whole run must stay under 20 minutes on 2 cores, and took
             # 1216 s with 45 s per target at 7d986dc); the corpus replays
             # are ctests of the builds above (label fuzz).
             echo
             echo "=== fuzz: bounded libFuzzer runs (fuzz/run_bounded.sh)"
             fuzz_s=${FUZZ_SECONDS:-30}
             if FUZZ_SECONDS="$fuzz_s" FUZZ_BUILD_DIR="$root/build/ci-fuzz" JOBS="$jobs" bash fuzz/run_bounded.sh; then
               summary[fuzz]="bounded fuzzing passed ($fuzz_s s per target)"
             else
               summary[fuzz]="bounded fuzzing FAILED (inputs in build/ci-fuzz/findings/)"
               status=1
             fi ;;
    python)  run_python ;;
    *) echo "unknown build '$b' in TENREG_CI_BUILDS" >&2; status=1 ;;
  esac
done

echo
echo "=== summary ($(( $(date +%s) - start_all ))s)"
for b in $builds; do
  printf '  %-8s %s\n' "$b" "${summary[$b]:-not run}"
done
echo "tests: $total_pass passed, $total_fail failed"
exit $status
