// bench_main.cc - the only C++ in tenreg-micro: registers google-benchmark
// cases; every body is plain C in bench_shim.c. Run with `cmake --build
// <dir> --target run-micro` (never by ctest).
#include <benchmark/benchmark.h>

#include "bench_shim.h"

namespace {

void BM_normalize(benchmark::State& st) {
  const int which = static_cast<int>(st.range(0));
  for (auto _ : st) benchmark::DoNotOptimize(shim_normalize(which));
  st.SetLabel(shim_normalize_label(which));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_normalize)->DenseRange(0, 2)->Threads(1)->Threads(2)->UseRealTime();

void BM_resolve_by_host_hit(benchmark::State& st) {
  shim_fix* f = shim_fixture(static_cast<size_t>(st.range(0)));
  shim_reader_begin();
  size_t i = static_cast<size_t>(st.thread_index()) * 104729u;
  for (auto _ : st) benchmark::DoNotOptimize(shim_resolve_hit(f, i++));
  shim_reader_end();
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_resolve_by_host_hit)
    ->Arg(1000)->Arg(100000)->Arg(1000000)->Threads(1)->Threads(2)->UseRealTime();

void BM_resolve_by_host_miss(benchmark::State& st) {
  shim_fix* f = shim_fixture(static_cast<size_t>(st.range(0)));
  shim_reader_begin();
  size_t i = static_cast<size_t>(st.thread_index()) * 1031u;
  for (auto _ : st) benchmark::DoNotOptimize(shim_resolve_miss(f, i++));
  shim_reader_end();
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_resolve_by_host_miss)
    ->Arg(1000)->Arg(100000)->Arg(1000000)->Threads(1)->Threads(2)->UseRealTime();

// Wildcards (issue 10). range(0) = tenants; every tenth holds a pattern
// "*.NAME" when patterns:1. Exact hits with and without patterns registered
// (the exact path must not notice them), hits 1 and 3 labels under a
// pattern, and a 4-label unknown host with and without patterns (a miss
// then probes each suffix).
void BM_wild_exact_hit(benchmark::State& st) {
  shim_wild* f = shim_wild_fixture(static_cast<size_t>(st.range(0)), static_cast<int>(st.range(1)));
  shim_reader_begin();
  size_t i = static_cast<size_t>(st.thread_index()) * 104729u;
  for (auto _ : st) benchmark::DoNotOptimize(shim_wild_exact_hit(f, i++));
  shim_reader_end();
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_wild_exact_hit)
    ->ArgNames({"tenants", "patterns"})
    ->ArgsProduct({{1000, 100000}, {0, 1}})
    ->Threads(1)->Threads(2)->UseRealTime();

void BM_wild_pattern_hit(benchmark::State& st) {
  shim_wild* f = shim_wild_fixture(static_cast<size_t>(st.range(0)), 1);
  const int depth = static_cast<int>(st.range(1));
  shim_reader_begin();
  size_t i = static_cast<size_t>(st.thread_index()) * 104729u;
  for (auto _ : st) benchmark::DoNotOptimize(shim_wild_pattern_hit(f, i++, depth));
  shim_reader_end();
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_wild_pattern_hit)
    ->ArgNames({"tenants", "depth"})
    ->ArgsProduct({{1000, 100000}, {1, 3}})
    ->Threads(1)->Threads(2)->UseRealTime();

void BM_wild_miss4(benchmark::State& st) {
  shim_wild* f = shim_wild_fixture(static_cast<size_t>(st.range(0)), static_cast<int>(st.range(1)));
  shim_reader_begin();
  size_t i = static_cast<size_t>(st.thread_index()) * 1031u;
  for (auto _ : st) benchmark::DoNotOptimize(shim_wild_miss4(f, i++));
  shim_reader_end();
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_wild_miss4)
    ->ArgNames({"tenants", "patterns"})
    ->ArgsProduct({{1000, 100000}, {0, 1}})
    ->Threads(1)->Threads(2)->UseRealTime();

// Admin ops: a fresh registry per run (Setup/Teardown run once per run,
// outside the threads), batches of SHIM_BATCH prepared with the timer paused.
shim_admin* g_admin = nullptr;
void admin_setup(const benchmark::State&) { g_admin = shim_admin_new(10000, 0); }
void admin_teardown(const benchmark::State&) {
  shim_admin_quiesce(g_admin);
  shim_admin_free(g_admin);
  g_admin = nullptr;
}

void BM_register(benchmark::State& st) {
  const unsigned t = static_cast<unsigned>(st.thread_index());
  while (st.KeepRunningBatch(SHIM_BATCH)) {
    st.PauseTiming();
    shim_batch_names(g_admin, t);
    st.ResumeTiming();
    for (size_t j = 0; j < SHIM_BATCH; j++) benchmark::DoNotOptimize(shim_register(g_admin, t, j));
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_register)->Setup(admin_setup)->Teardown(admin_teardown)
    ->Threads(1)->Threads(2)->UseRealTime();

void BM_unregister(benchmark::State& st) {
  const unsigned t = static_cast<unsigned>(st.thread_index());
  while (st.KeepRunningBatch(SHIM_BATCH)) {
    st.PauseTiming();
    shim_batch_register(g_admin, t, 0);
    st.ResumeTiming();
    for (size_t j = 0; j < SHIM_BATCH; j++) benchmark::DoNotOptimize(shim_unregister(g_admin, t, j));
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_unregister)->Setup(admin_setup)->Teardown(admin_teardown)
    ->Threads(1)->Threads(2)->UseRealTime();

void BM_recheck(benchmark::State& st) {
  size_t i = static_cast<size_t>(st.thread_index()) * 5003u;
  for (auto _ : st) benchmark::DoNotOptimize(shim_recheck(g_admin, i++));
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_recheck)->Setup(admin_setup)->Teardown(admin_teardown)
    ->Threads(1)->Threads(2)->UseRealTime();

// Lazy first hit: range(0) = 0 for TENREG_NOWAIT (queues the build, answers
// EPENDING), 1 for a blocking resolve (waits for the builder thread; the
// factory returns at once, so this is the handoff round trip).
void BM_lazy_first_hit(benchmark::State& st) {
  const unsigned t = static_cast<unsigned>(st.thread_index());
  const int wait = static_cast<int>(st.range(0));
  shim_reader_begin();
  while (st.KeepRunningBatch(SHIM_BATCH)) {
    st.PauseTiming();
    shim_admin_quiesce(g_admin);
    shim_batch_register(g_admin, t, 1);
    st.ResumeTiming();
    for (size_t j = 0; j < SHIM_BATCH; j++)
      benchmark::DoNotOptimize(shim_lazy_first_hit(g_admin, t, j, wait));
  }
  shim_reader_end();
  st.SetLabel(wait ? "blocking" : "NOWAIT");
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_lazy_first_hit)->Setup(admin_setup)->Teardown(admin_teardown)
    ->Arg(0)->Arg(1)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
