/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The attribute stage of a tick (attribution.c): measured power -> the
 * share of each scope (docs/attribution.md).
 */
#ifndef JPU_ATTRIBUTION_H
#define JPU_ATTRIBUTION_H

#include "sensors/sensor.h"

/* ---- attribution (attribution.c) ---------------------------------------- */

/* Inputs of one interval, all deltas over that interval. */
struct jpu_attr_in {
	uint64_t measured_uw; /* machine power of the part (CPU packages) */
	uint64_t host_busy_ticks;
	uint64_t host_all_ticks;
	uint64_t scope_ticks;  /* CPU ticks of the scope */
	unsigned active_users; /* users with CPU time (JPU_IDLE_EVEN) */
	bool scope_is_system;
	enum jpu_idle_policy policy;
};

struct jpu_attr_out {
	uint64_t active_uw;            /* machine active power */
	uint64_t idle_uw;              /* machine idle power */
	uint64_t scope_uw;             /* attributed to the scope */
	uint64_t unattributed_idle_uw; /* idle not given to the scope under the policy */
	double share;                  /* scope ticks / host busy ticks, 0..1 */
};

void jpu_attribute(const struct jpu_attr_in *in, struct jpu_attr_out *out);

/* One scope to attribute: what the read stage measured of it over the
 * interval. The engine's own scope and every tracked tree are one each, so
 * a node daemon accounts many users, containers or trees from one reading. */
struct jpu_scope_in {
	bool is_system;     /* the whole machine: every part in full */
	bool measured;      /* false: nothing read of it (a tag not tracked yet) */
	uint64_t cpu_ticks; /* CPU time over the interval */
	uint64_t rss_bytes; /* resident memory now */
	/* membership, for per-process GPU figures */
	bool (*contains)(const void *arg, pid_t pid);
	const void *arg;
};

/* A scope's share of each part, in µW, and the machine's idle power that
 * the idle policy did not give it. */
struct jpu_scope_power {
	uint64_t cpu_uw, dram_uw, gpu_uw;
	uint64_t cpu_idle_uw, dram_idle_uw, gpu_idle_uw;
	double share;          /* scope CPU ticks / host busy ticks */
	double mem_share;      /* scope RSS / memory in use */
	bool gpu_whole_device; /* some GPU could not be split: given whole */
	uint64_t gpu_dev_uw[JPU_MAX_GPUS];
};

/* The attribute stage: every part of m split among n scopes, each on its
 * own (scopes need not be disjoint). CPU packages by CPU time, DRAM by
 * memory, GPUs by their per-process utilisation; idle power by the policy. */
void jpu_attribute_scopes(const struct jpu_machine *m, const struct jpu_scope_in *in, size_t n,
                          struct jpu_scope_power *out);

#endif /* JPU_ATTRIBUTION_H */
