/*
 * The batch atomicity test of test_stress_batch.c in the QSBR flavor:
 * readers are online and their sections end at tenreg_quiescent.
 */
#define TT_BATCH_SUITE qsbr_batch
#include "test_stress_batch.c"
