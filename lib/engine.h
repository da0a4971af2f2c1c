/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The engine's internal state, shared by engine.c (construction, public
 * API), accounting.c (the sampler tick, history), state.c (the state file) and the
 * writers in export/.
 */
#ifndef JPU_ENGINE_H
#define JPU_ENGINE_H

#include <pthread.h>

#include "internal.h"
#include "carbon/carbon.h"
#include "cgroup.h"
#include "counter.h"
#include "proc/proctab.h"
#include "proc/tree.h"
#include "proc/user.h"
#include "state.h"

#define JPU_MAX_SENSORS   8
#define JPU_MAX_DIAGS     16
#define JPU_MAX_GPU_PROCS 1024

/* One part (cpu, dram, psys, gpu) of a sample, in µW. */
struct jpu_part {
	bool present; /* unknown is not zero: absent parts are left out */
	enum jpu_source source;
	uint64_t usage_uw; /* attributed to the scope */
	uint64_t total_uw; /* whole machine */
	uint64_t idle_uw;  /* machine idle not attributed under the policy */
	bool has_limit;
	uint64_t limit_uw;
	bool whole_device; /* GPU: no per-process figures, the whole device */
};

struct jpu_gpu_dev {
	char name[64];
	enum jpu_source source;
	bool whole_device; /* its backend cannot tell processes apart */
	uint64_t total_uw, usage_uw;
	bool has_limit;
	uint64_t limit_uw;
	uint64_t energy_uj; /* device energy since the engine started */
};

/* Cumulative energy in µJ per part, with sub-µJ remainders carried. */
struct jpu_energy {
	uint64_t cpu_uj, dram_uj, gpu_uj;
	double cpu_rem, dram_rem, gpu_rem;
};

/* Everything one sample says; copied out under the lock. */
struct jpu_snapshot {
	int64_t seq;
	uint64_t t_real_usec;
	uint64_t interval_usec;
	enum jpu_scope scope;
	struct jpu_part cpu, dram, psys, gpu;
	double share; /* scope share of host busy CPU time */
	double mem_share;
	unsigned n_gpus;
	struct jpu_gpu_dev gpus[JPU_MAX_GPUS];
	struct jpu_energy energy; /* cumulative, scope */
	uint64_t energy_total_uj;
	bool has_cpu_sensor, has_dram_sensor, has_gpu_sensor; /* which energies exist */
	/* emissions of the scope, integrated sample by sample */
	bool has_emissions;
	uint64_t co2_ug;
	struct jpu_intensity intensity; /* in force for this sample */
	uint64_t intensity_mg;          /* intensity.mg_per_kwh, for the metric table */
	uint32_t pue_milli;
	char basis[128]; /* estimate basis, "" when measured */
};

/* A tracked process tree (one per Jupyter kernel) as the API and the
 * writers see it, under e->lock. jpu_track() only records the request (pid,
 * gen); the sampler follows it at its next tick (struct jpu_tracked_tree), so
 * the caller never waits on a tick or a /proc scan. */
struct jpu_tracked {
	char tag[128];
	pid_t pid;    /* 0: restored from the state file, not tracked again yet */
	uint64_t gen; /* the jpu_track() call that set pid, 0 = none */
	bool alive;
	uint64_t power_uw;
	struct jpu_energy energy;
	uint64_t energy_total_uj; /* cpu + dram + gpu, set by the JSON writer */
	struct jpu_co2_acc co2;
	uint64_t seen_usec; /* CLOCK_REALTIME µs it was last alive (state.c folds) */
	bool fold;          /* state.c: folded into the past totals at this save */
};

/* The sampler's side of a tracked tag: touched only under sample_lock. */
struct jpu_tracked_tree {
	char tag[128];
	uint64_t gen; /* the request this tree follows */
	pid_t pid;
	bool pending; /* gen is newer than the tree: (re)root it on pid */
	struct jpu_tree *tree;
	bool alive;
	bool have_prev;
	uint64_t prev_ticks;
	uint64_t ticks_delta; /* this interval */
	uint64_t rss_bytes;
};

/* One sensor domain as the node's Prometheus series show it (a zone:
 * package, DRAM, psys, core, uncore; or a GPU device), published by the
 * account stage under e->lock. Duplicate domains are left out. */
struct jpu_zone_rec {
	char name[64];      /* the domain's name: "package-0", "GPU 0: ..." */
	char id[96];        /* its stable id ("intel-rapl:0:1"): names repeat (a
	                       "core" in every package), ids do not */
	const char *kind;   /* static: "package", "dram", ... */
	const char *source; /* static: the backend's name */
	bool gpu;           /* a GPU device (device label) rather than a zone */
	bool present;       /* this interval produced a figure */
	uint64_t power_uw;  /* this interval */
	uint64_t energy_uj; /* since the engine started, over valid intervals */
	double energy_rem;
	int sensor;
	size_t domain;
};

struct jpu_hist;

/* An added scope (jpu_scope_add): a user, a process tree or a cgroup
 * accounted in the engine's tick beside its own scope. The array of
 * pointers e->xscopes and the fields marked "lock" change under e->lock;
 * the fields marked "sampler" belong to the tick (sample_lock), which alone
 * frees an entry, so a tick's pointers stay valid through its stages. */
struct jpu_xscope {
	char key[128];
	/* spec (lock; read by the tick only while `live`) */
	enum jpu_scope kind;
	uid_t uid;
	pid_t pid;
	char *cgroup;
	unsigned history_len;
	bool history_on_demand; /* hist made at the first read (lock) */
	bool prometheus;
	char *labels[JPU_SCOPE_LABELS_MAX][2];
	bool live;     /* added and not removed (lock) */
	bool restored; /* totals from the state file, not added (again) yet */
	bool removed;  /* jpu_scope_remove'd: the tick frees it (lock) */
	bool in_tick;  /* part of this tick's reading (sampler) */
	/* sampler: the /proc and cgroup side */
	bool opened;
	struct jpu_tree *tree;
	struct jpu_user *user;
	struct jpu_cgroup_files cg;
	uint64_t cg_acc_ns, cg_prev_ns;
	bool cg_started;
	bool have_prev;
	uint64_t prev_ticks;
	bool alive_read; /* the read stage found it (copied to alive by account) */
	int procfs_fd;   /* borrowed from the engine, for the GPU membership test */
	/* lock: what the writers show */
	bool alive;
	uint64_t seen_usec; /* CLOCK_REALTIME µs last alive (state.c folds) */
	struct jpu_snapshot snap;
	struct jpu_energy energy;
	struct jpu_co2_acc co2;
	struct jpu_hist *hist; /* history_len entries, NULL when 0 */
	size_t hist_head, hist_count;
};

struct jpu_hist {
	uint64_t t_real_usec;
	uint64_t cpu_uw, cpu_total_uw, dram_uw, gpu_uw;
	bool has_cpu, has_dram, has_gpu;
	uint64_t energy_uj;
	bool has_emissions;
	uint64_t co2_ug;
	uint64_t intensity_mg; /* the metric table reads 64-bit values */
};

/* Per-domain counter state and this interval's figure, parallel to each
 * sensor's domains. */
struct jpu_dom_state {
	struct jpu_counter counter; /* wrap/reset rule: counter.h */
	uint64_t power_uw;          /* this interval */
	bool valid;                 /* this interval produced a figure */
};

struct jpu_engine {
	struct jpu_logger log;
	int sysfs_fd, procfs_fd;
	char *sysfs_root, *procfs_root, *nvml_library, *state_file, *sensor_list;
	bool locks_ready;
	enum jpu_scope scope;
	pid_t pid;
	uid_t uid;
	enum jpu_idle_policy idle_policy;
	uint64_t interval_usec;
	unsigned history_len;
	uint32_t resolution_micro; /* writers round to this (opts.resolution_micro) */

	struct jpu_sensor sensors[JPU_MAX_SENSORS];
	struct jpu_dom_state *dstate[JPU_MAX_SENSORS];
	size_t n_sensors;
	int cpu_sensor;       /* index of the sensor giving packages, -1 */
	bool has_gpu;         /* some sensor measures GPUs */
	bool has_dram_domain; /* the CPU sensor measures DRAM */
	struct jpu_diag diags[JPU_MAX_DIAGS];
	size_t n_diags;

	struct jpu_proctab *proctab;
	struct jpu_tree *tree; /* process scope */
	struct jpu_user *user; /* user scope */

	/* sampling state (under sample_lock) */
	pthread_mutex_t sample_lock;
	bool have_prev;
	uint64_t prev_mono_usec;
	struct jpu_host_cpu prev_host;
	uint64_t prev_scope_ticks;
	struct jpu_tracked_tree *trees; /* tracked tags as of this tick */
	size_t n_trees;
	uint64_t (*clock_mono)(void); /* tests replace it */
	uint64_t (*clock_real)(void);
	struct jpu_gpu_proc *gpu_procs;
	/* idle policy "even": per-user cgroup CPU usage at the last tick */
	struct jpu_user_usage {
		unsigned long uid;
		uint64_t usage;
		uint32_t seen_gen;
	} * users;
	size_t n_users;
	uint32_t users_gen;
	bool users_warned;

	/* published state (under lock) */
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* wakes the sampler thread (stop); CLOCK_MONOTONIC */
	pthread_cond_t published; /* a new snapshot (jpu_engine_wait); CLOCK_MONOTONIC */
	struct jpu_snapshot snap;
	struct jpu_energy energy;
	struct jpu_co2_acc co2;
	struct jpu_carbon *carbon; /* swapped under lock by jpu_engine_set_carbon */
	uint32_t pue_milli;
	struct jpu_tracked *tracked;
	size_t n_tracked;
	/* totals of tags folded away (state.c): untracked, or dormant too long */
	struct jpu_energy past_energy;
	struct jpu_co2_acc past_co2;
	uint64_t past_tags;
	uint64_t track_gen; /* jpu_track() calls so far */
	struct jpu_hist *hist;
	size_t hist_head, hist_count;
	/* added scopes (jpu_scope_add) and keys restored from the state file;
	 * owned, each entry too */
	struct jpu_xscope **xscopes;
	size_t n_xscopes;
	/* every non-duplicate domain of every sensor (node series) */
	struct jpu_zone_rec *zones;
	size_t n_zones;

	/* state file (state.c): the fd holding its flock, -1 = none */
	int state_lock_fd;
	unsigned state_tmp_seq;

	/* sampler thread; run_lock serialises start and stop (held across
	 * the join, never taken by the sampler) */
	pthread_mutex_t run_lock;
	pthread_t thread;
	bool thread_running;
	bool stop;
};

/* ---- the tick: read, combine, attribute, account, publish, persist ------ */

/* What the read stage measured over one interval (sensors/reading.c). */
struct jpu_reading {
	uint64_t interval_usec;
	struct jpu_host_cpu host_delta; /* /proc/stat over the interval */
	uint64_t mem_used_bytes;
	unsigned active_users; /* idle policy "even" */
	/* [0] the engine's scope, [1 + i] tracked tree i, then the added
	 * scopes of xs; owned */
	size_t n_scopes;
	struct jpu_scope_in *scopes;
	struct jpu_scope_power *power; /* filled by the attribute stage */
	size_t n_tracked;              /* tracked trees at the read stage */
	struct jpu_xscope **xs;        /* added scopes in this tick (entries borrowed) */
	size_t n_xs;
	/* each sensor's run of per-process GPU figures in e->gpu_procs */
	size_t proc_first[JPU_MAX_SENSORS], proc_n[JPU_MAX_SENSORS];
	size_t n_procs;
};

/* read (sensors/reading.c): 1 with a reading, 0 for the baseline or a
 * zero-length interval (no sample), -errno. Release with
 * jpu_reading_free() whatever it returned. */
int jpu_read(struct jpu_engine *e, struct jpu_reading *rd);
void jpu_reading_free(struct jpu_reading *rd);
/* combine (sensors/reading.c): the machine's parts from the domains. */
void jpu_combine(const struct jpu_engine *e, const struct jpu_reading *rd, struct jpu_machine *m);
/* Users with CPU time since the last call, for the idle policy "even"
 * (accounting.c). Never fewer than 1. */
unsigned jpu_active_users(struct jpu_engine *e);

/* accounting.c: one tick through every stage (attribute in attribution.c,
 * account, publish and persist here). */
int jpu_engine_tick(struct jpu_engine *e);

/* tracked.c: the sampler's side of tracked trees, under sample_lock.
 * Sync the trees with the API's requests (copied under e->lock); returns
 * how many tags are tracked, or -ENOMEM (the previous trees are kept). */
int jpu_tracked_sync(struct jpu_engine *e);
/* After jpu_proctab_refresh: (re)root the trees of new requests, then
 * update every tree's CPU time delta, RSS and liveness. */
void jpu_tracked_update(struct jpu_engine *e);
/* Under e->lock: the published entry that trees[i] measures, or NULL when
 * its tag was untracked or re-tracked since the sync. */
struct jpu_tracked *jpu_tracked_find(struct jpu_engine *e, size_t i);
void jpu_tracked_free_trees(struct jpu_engine *e);
/* Whether key is 1-127 bytes of [A-Za-z0-9._:/-] (engine.c). */
bool jpu_scope_key_valid(const char *key);
/* Free an added scope (engine.c). NULL-safe. */
void jpu_xscope_free(struct jpu_xscope *x);
/* The added scope of key that the API sees (live), or NULL; under e->lock. */
struct jpu_xscope *jpu_xscope_find(const struct jpu_engine *e, const char *key);
/* Push the snapshot into a history ring of len entries (accounting.c). */
void jpu_hist_push(struct jpu_hist *ring, size_t len, size_t *head, size_t *count,
                   const struct jpu_snapshot *s);

/* Test hooks: replace the clocks (µs). */
void jpu_engine_set_clocks(struct jpu_engine *e, uint64_t (*mono)(void), uint64_t (*real)(void));

#include "export/export.h"

#endif /* JPU_ENGINE_H */
