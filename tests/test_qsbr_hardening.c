/*
 * test_qsbr_hardening.c - docs/design.md §2 "Threads and read sections" against
 * libtenreg-qsbr: the cases of hardening_cases.h, plus a QSBR reader that
 * blocks without any read lock (it is online; it must go offline).
 */
#define _LGPL_SOURCE
#include <urcu/urcu-qsbr.h>

#define FLAVOR_SUITE qsbr
#define FLAVOR_THREAD_IS_READING() urcu_qsbr_read_ongoing()
#include "hardening_cases.h"

Test(qsbr, online_reader_goes_offline_while_it_waits)
{
    cr_assert_str_eq(tenreg_flavor(), "qsbr");
    run_blocking_reader(0);
}
