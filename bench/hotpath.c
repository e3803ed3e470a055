/*
 * hotpath.c - tenreg-hotpath: a fixed loop of tenreg_resolve_by_host hits
 * for counting instructions per lookup, which unlike time is the same on
 * any machine and under any load:
 *
 *   valgrind --tool=callgrind --toggle-collect=tenreg_resolve_by_host \
 *            build-bench/bench/tenreg-hotpath
 *
 * "Collected" / 102400 is the instructions per hit (normalization of a
 * decorated Host value, SipHash, the probe, the answer). 10,000 eager
 * tenants, 1,024 distinct Host values in mixed case with ":443", 100
 * rounds, a kernel hash key (a fixed hash_seed would make every hit
 * compare its key in the record: the digest rule).
 */
#include <stdio.h>
#include <string.h>
#include "tenreg.h"
int main(void)
{
    tenreg_t *reg;
    tenreg_config cfg = {.hash_seed = 0};
    if (tenreg_new(&cfg, &reg)) return 1;
    static int p;
    char id[32], h[64];
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof id, "t%d", i);
        snprintf(h, sizeof h, "t%d.bid.example", i);
        if (tenreg_register(reg, id, h, &p, 0)) return 1;
    }
    static char hosts[1024][64];
    for (int i = 0; i < 1024; i++)
        snprintf(hosts[i], 64, "T%d.Bid.example:443", (i * 7919) % 10000);
    tenreg_thread_register();
    long ok = 0;
    for (int r = 0; r < 100; r++) {
        tenreg_read_lock();
        for (int i = 0; i < 1024; i++) {
            tenreg_resolution res;
            ok += tenreg_resolve_by_host(reg, hosts[i], strlen(hosts[i]), &res) == 0;
        }
        tenreg_read_unlock();
    }
    printf("%ld hits\n", ok);
    tenreg_thread_unregister();
    tenreg_free(reg);
    return 0;
}
