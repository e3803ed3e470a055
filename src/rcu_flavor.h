/*
 * rcu_flavor.h - private to tenreg: picks the liburcu flavor the library is
 * built for. libtenreg uses urcu-memb (read sections are two compiler
 * barriers and a TLS increment); libtenreg-qsbr uses urcu-qsbr (read
 * sections cost nothing, readers announce quiescent states).
 *
 * _LGPL_SOURCE inlines liburcu's read-side fast paths into tenreg; it is
 * defined here, never in a public header.
 */
#ifndef TENREG_RCU_FLAVOR_H
#define TENREG_RCU_FLAVOR_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define _LGPL_SOURCE

/* URCU_API_MAP maps the generic names (rcu_read_lock, call_rcu, ...) to
 * the chosen flavor, as <urcu.h> and <urcu-qsbr.h> do. */
#define URCU_API_MAP
#ifdef TENREG_FLAVOR_QSBR
#include <urcu/urcu-qsbr.h>
#define TENREG__FLAVOR_NAME "qsbr"
#else
#include <urcu/urcu-memb.h>
#define TENREG__FLAVOR_NAME "memb"
#endif
#include <urcu/call-rcu.h>

#endif
