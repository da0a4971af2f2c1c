/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libjpu: measure, attribute and account the power drawn by CPU, DRAM and
 * GPUs of a Linux machine, per process tree, per user and for the system.
 *
 * Conventions (see docs/architecture.md):
 *  - every function returns 0 (or a count) on success and -errno on failure;
 *    results go out through trailing ret_* parameters, written only on success;
 *  - handles are opaque; jpu_*_free() accepts NULL and returns NULL;
 *  - option structs start with `size_t sz` (set it to sizeof the struct) so
 *    that fields can be added without breaking callers;
 *  - the library never prints, exits or aborts: messages go to the log
 *    callback the caller installs;
 *  - strings returned through char ** are owned by the caller (free(3));
 *  - an engine's calls may come from any threads at once, except
 *    jpu_engine_free(), which must come after every other call on the
 *    engine has returned (a binding that closes from one thread while
 *    others call in keeps a count of calls in progress, as python/jpu does).
 */
#ifndef JPU_JPU_H
#define JPU_JPU_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(JPU_BUILDING_LIBRARY)
#define JPU_API __attribute__((visibility("default")))
#else
#define JPU_API
#endif

/* Read access to the root-only energy counters (CVE-2020-8694): the udev
 * rule that ships with jpu (data/90-jpu-powercap.rules, installed in
 * share/jpu/), the group it gives read access to, and the documentation
 * section with the steps. Every message about the counters' permissions
 * names these three, so that there is one recipe. */
#define JPU_UDEV_RULE       "90-jpu-powercap.rules"
#define JPU_POWERCAP_GROUP  "powercap"
#define JPU_PERMISSIONS_DOC "PERMISSIONS in jpu(1) (docs/jpu.1.md)"

/* Version of the library, "MAJOR.MINOR.PATCH". Static string. */
JPU_API const char *jpu_version(void);

/* What a scope covers. */
enum jpu_scope {
	JPU_SCOPE_SYSTEM = 0,  /* the whole machine */
	JPU_SCOPE_USER = 1,    /* one UID (its cgroup when it has one) */
	JPU_SCOPE_PROCESS = 2, /* one PID and all its descendants */
	/* one cgroup (a container, a Slurm job, a slice) and all below it:
	 * for jpu_scope_add only; the engine's own opts.scope refuses it
	 * with -EINVAL */
	JPU_SCOPE_CGROUP = 3,
};

/* How idle power (measured x (1 - host busy ratio)) is attributed. */
enum jpu_idle_policy {
	JPU_IDLE_NONE = 0, /* reported as its own figure (default) */
	JPU_IDLE_BUSY = 1, /* shared like active power: the original's arithmetic */
	JPU_IDLE_EVEN = 2, /* shared evenly among users with CPU time this interval */
};

/* Log levels passed to the log callback (syslog numbering). */
enum jpu_log_level {
	JPU_LOG_ERR = 3,
	JPU_LOG_WARNING = 4,
	JPU_LOG_INFO = 6,
	JPU_LOG_DEBUG = 7,
};

/* Called from any thread, including the sampler thread. `msg` is borrowed
 * for the duration of the call and carries no trailing newline. */
typedef void (*jpu_log_fn)(int level, const char *msg, void *userdata);

typedef struct jpu_engine_opts {
	size_t sz;               /* sizeof(struct jpu_engine_opts) */
	const char *sysfs_root;  /* default "/sys" */
	const char *procfs_root; /* default "/proc" */
	/* NVML library to dlopen: NULL = "libnvidia-ml.so.1", "" = GPUs off */
	const char *nvml_library;
	/* comma-separated list of sensor backends to probe, in order
	 * ("rapl,hwmon,perf,nvml,estimate"); NULL = all real backends */
	const char *sensors;
	uint64_t interval_usec; /* sampling interval; 0 = 1 s */
	enum jpu_scope scope;   /* default JPU_SCOPE_SYSTEM */
	pid_t pid;              /* JPU_SCOPE_PROCESS: root of the tree; 0 = caller */
	uid_t uid;              /* JPU_SCOPE_USER: the user; (uid_t)-1 = caller */
	enum jpu_idle_policy idle_policy;
	unsigned history_len; /* samples kept in the history ring; 0 = 3600 */
	jpu_log_fn log;       /* NULL = silent */
	void *log_userdata;
	/* path of a state file to persist cumulative energy across restarts;
	 * NULL = none. Written durably (unique temporary file, fsync, rename)
	 * after every sample. The engine holds an flock on <state_file>.lock
	 * for its life: jpu_engine_new returns -EBUSY while another engine
	 * uses the file. A file that cannot be loaded is moved to
	 * <state_file>.corrupt-<UTC time>, never overwritten (docs/architecture.md). */
	const char *state_file;
	/* Estimate (docs/estimate.md): the memory counted in use is capped at
	 * mem_bytes (a container's limit), and the per-vCPU model counts ncpu
	 * vCPUs (a container's CPU quota; also lets the estimate run without a
	 * readable cpuinfo). 0 = read from procfs. Measured sensors ignore both. */
	uint64_t mem_bytes;
	unsigned ncpu;

	/* Carbon (docs/carbon.md): grid intensity and emissions. */
	/* "auto" (NULL too: FR -> rte, GB -> gb, a token -> emaps, then the
	 * country table), "rte", "gb", "emaps", "table", "constant", or a
	 * comma chain such as "gb,table" */
	const char *carbon_provider;
	const char *country;           /* ISO 3166-1 alpha-2; NULL = World average */
	const char *postcode;          /* GB outward postcode for regional data */
	uint32_t intensity_mg_per_kwh; /* constant provider; 0 = 475 g/kWh */
	uint32_t pue_milli;            /* power usage effectiveness x 1000; 0 = 1.0 */
	const char *emaps_token;       /* Electricity Maps token (copied, never logged) */
	const char *carbon_urls[8];    /* "name=base_url" overrides, unused = NULL */
	uint64_t carbon_timeout_usec;  /* per request; 0 = 10 s */

	/* Round every figure the writers print (W, J, g, ratios) to this many
	 * millionths; 0 or 1 = exact. A node daemon serving many users prints
	 * 1000 (mW, mJ, mg): enough for a person, and with a tick of 1 s no
	 * fine energy side channel (CVE-2020-8694). */
	uint32_t resolution_micro;
} jpu_engine_opts;

/* jpu_engine_opts has the carbon fields above. */
#define JPU_HAVE_CARBON_OPTS 1

typedef struct jpu_engine jpu_engine;

/* Probe sensors and open counters. Does not start sampling.
 * Returns -EINVAL naming the bad option in the log, -ENOENT when a root
 * does not exist, -ESRCH when the process scope's pid does not exist. */
JPU_API int jpu_engine_new(const jpu_engine_opts *opts, jpu_engine **ret_engine);
/* Stops the sampler thread if running. NULL-safe, returns NULL. */
JPU_API jpu_engine *jpu_engine_free(jpu_engine *engine);

/* Start the sampler thread (one sample every interval). Idempotent. */
JPU_API int jpu_engine_start(jpu_engine *engine);
/* Stop the sampler thread and wait for it. Idempotent. */
JPU_API int jpu_engine_stop(jpu_engine *engine);
/* Take one sample now, synchronously (for callers without the thread).
 * The first call only sets the baseline and returns 0 with no sample;
 * later calls return 1 when a sample was produced, 0 when the interval
 * was too short to give one. Thread-safe against the sampler thread. */
JPU_API int jpu_engine_sample(jpu_engine *engine);
/* Wait until a sample newer than `seq` exists (seq 0: any), at most
 * timeout_usec (CLOCK_MONOTONIC). Returns as soon as the sample is
 * published, with the newest sequence number (> seq), or -ETIMEDOUT.
 * Thread-safe; any number of threads may wait. */
JPU_API int64_t jpu_engine_wait(jpu_engine *engine, int64_t seq, uint64_t timeout_usec);

/* The latest sample as the JSON object of DESIGN section 3, one line,
 * no trailing newline. -EAGAIN before the first sample. */
JPU_API int jpu_engine_json(jpu_engine *engine, char **ret_json);
/* The latest sample as Prometheus text exposition format 0.0.4. */
JPU_API int jpu_engine_prometheus(jpu_engine *engine, char **ret_text);
/* History ring as JSON: {"interval_s":..,"samples":[{"time":..,"cpu":W,..},..]}
 * with samples newer than since_usec (CLOCK_REALTIME µs; 0 = all). */
JPU_API int jpu_engine_history_json(jpu_engine *engine, uint64_t since_usec, char **ret_json);
/* Diagnostics as a JSON array (the sample's "diagnostics"), available
 * right after jpu_engine_new(). */
JPU_API int jpu_engine_diagnostics_json(jpu_engine *engine, char **ret_json);

/* Track the process tree rooted at pid under `tag` (copied). Cumulative
 * energy starts from zero at this call. Re-tracking a tag with a new pid
 * (a restarted kernel) keeps the tag's energy and follows the new tree.
 * -ESRCH when the pid does not exist, -EINVAL on an empty tag.
 * Cheap enough for an event loop: it checks that the pid exists and
 * records the request; it never waits for a sample in progress. The
 * sampler builds the tree at its next sample, so the tag is listed at once
 * (alive, 0 W) and measured from the interval after that sample, as
 * before; a pid that exits before then shows as not alive. */
JPU_API int jpu_track(jpu_engine *engine, pid_t pid, const char *tag);
/* Stop tracking `tag`; its totals leave the per-tag figures and are added
 * to the state file's past totals (the scope totals always had them).
 * -ENOENT when unknown. Like jpu_track(), it never waits for a sample in
 * progress. */
JPU_API int jpu_untrack(jpu_engine *engine, const char *tag);
/* Tracked trees as a JSON array:
 * [{"tag":..,"pid":..,"alive":bool,"power_w":..,"energy_j":{cpu,dram,gpu,total}},..] */
JPU_API int jpu_tracked_json(jpu_engine *engine, char **ret_json);

/* ---- many scopes in one engine (a node daemon) --------------------------
 *
 * Besides its own scope (opts.scope), an engine accounts any number of
 * added scopes in the same tick, from the same reading of the sensors and
 * of /proc: every user, container cgroup or tracked tree of a node. Each
 * gets CPU (by CPU time), DRAM (by memory) and GPU (by per-process SM
 * utilisation) under the engine's idle policy, exactly as the engine's own
 * scope does, and its own cumulative energy and emissions. Disjoint scopes
 * plus the unattributed idle power sum to the machine. */

/* Extra Prometheus labels a scope may carry. */
#define JPU_SCOPE_LABELS_MAX 6

typedef struct jpu_scope_spec {
	size_t sz;            /* sizeof(struct jpu_scope_spec) */
	enum jpu_scope scope; /* USER, PROCESS or CGROUP; SYSTEM is -EINVAL (the engine's own) */
	uid_t uid;            /* USER: the user (its per-user cgroup when it has one) */
	pid_t pid;            /* PROCESS: root of the tree, followed like jpu_track's */
	/* CGROUP: its path as /proc/PID/cgroup names it (the v2 "0::" path, or
	 * the v1 cpuacct path), looked for under the sysfs root's fs/cgroup,
	 * fs/cgroup/unified, fs/cgroup/cpuacct or fs/cgroup/cpu,cpuacct; copied */
	const char *cgroup;
	unsigned history_len; /* samples of history kept for this scope; 0 = none */
	int prometheus;       /* 1: its series appear in jpu_engine_prometheus() */
	/* extra Prometheus labels {name, value}; unused = {NULL, NULL}; names
	 * [a-zA-Z_][a-zA-Z0-9_]*, not "scope" nor "key" (the engine's own
	 * labels) nor twice (-EINVAL otherwise); values escaped by the engine;
	 * copied */
	const char *labels[JPU_SCOPE_LABELS_MAX][2];
	/* 1: keep the history_len samples only from the first time the scope
	 * is read through jpu_scope_json, jpu_scope_summary or
	 * jpu_scope_history_json (that first history holds no sample yet). A
	 * node daemon follows every user of the node for Prometheus, which
	 * keeps its own history, while only the users of a Jupyter panel
	 * read theirs: 300 samples x 100 users were 2.4 MB (issue 9). */
	int history_on_demand;
} jpu_scope_spec;

/* Account spec under key (copied; 1-127 bytes of [A-Za-z0-9._:/-]) from
 * the next tick on. Cheap for the caller: it checks only that the pid or
 * cgroup exists; the sampler does the /proc work. A key that the state file
 * knows continues its totals. Returns -EEXIST (key in use), -EINVAL (naming
 * the field in the log), -ESRCH (no such pid), -ENOENT (no such cgroup),
 * -ENOMEM. */
JPU_API int jpu_scope_add(jpu_engine *engine, const char *key, const jpu_scope_spec *spec);
/* Stop accounting key. Its totals fold into the state file's past totals,
 * like an untracked tag's. -ENOENT when unknown. */
JPU_API int jpu_scope_remove(jpu_engine *engine, const char *key);
/* Follow a new tree under a PROCESS key, keeping its totals and labels: a
 * restarted kernel under the same tag. Its energy counts from the new
 * tree's next tick. -ENOENT unknown key, -EINVAL not a process scope or a
 * bad pid, -ESRCH no such pid, -ENOMEM. */
JPU_API int jpu_scope_reroot(jpu_engine *engine, const char *key, pid_t pid);
/* The latest sample of key: the same JSON object as jpu_engine_json, with
 * "scope" the kind's name ("user", "process", "cgroup"), plus "key" and
 * "alive" (false once the tree is dead or the cgroup removed); its uid,
 * pid or "cgroup" path. -EAGAIN before its first tick, -ENOENT unknown key. */
JPU_API int jpu_scope_json(jpu_engine *engine, const char *key, char **ret_json);
/* Key's history, as jpu_engine_history_json. -ENODATA when its
 * history_len was 0, -ENOENT unknown key. */
JPU_API int jpu_scope_history_json(jpu_engine *engine, const char *key, uint64_t since_usec,
                                   char **ret_json);

/* Replace the carbon settings (the carbon_* fields, country, postcode,
 * intensity_mg_per_kwh, pue_milli, emaps_token of opts; the rest is
 * ignored) while the engine runs: the Jupyter front end's settings. The
 * emissions counted so far are kept. -EINVAL naming the bad setting. */
JPU_API int jpu_engine_set_carbon(jpu_engine *engine, const jpu_engine_opts *opts);

/* A few figures of the latest sample as numbers, for terminal views. */
typedef struct jpu_summary {
	size_t sz;       /* sizeof(struct jpu_summary) */
	int64_t seq;     /* sample number, 0 = none yet */
	uint64_t t_usec; /* CLOCK_REALTIME of the sample */
	int has_cpu, has_dram, has_gpu, has_psys;
	uint64_t cpu_usage_uw; /* attributed to the scope, DRAM included */
	uint64_t cpu_total_uw; /* whole machine, packages + DRAM */
	uint64_t cpu_idle_uw;  /* idle power not attributed */
	uint64_t dram_total_uw;
	uint64_t psys_uw;
	uint64_t gpu_usage_uw, gpu_total_uw;
	uint64_t energy_uj; /* cumulative energy of the scope, all parts */
	uint64_t cpu_energy_uj, dram_energy_uj, gpu_energy_uj;
	double share;  /* scope share of host busy CPU time, 0..1 */
	int estimated; /* some figure comes from the estimate */
	char cpu_source[16], gpu_source[16];
	/* emissions of the scope (cumulative) and the intensity in force */
	int has_emissions;
	uint64_t co2_ug;
	uint32_t intensity_mg_per_kwh;
	char carbon_source[16], carbon_zone[16];
} jpu_summary;

JPU_API int jpu_engine_summary(jpu_engine *engine, jpu_summary *ret_summary);
/* The same figures for an added scope (jpu_scope_add): seq 0 before its
 * first tick. -ENOENT unknown key, -EINVAL on a NULL or too small ret. */
JPU_API int jpu_scope_summary(jpu_engine *engine, const char *key, jpu_summary *ret_summary);

/* One diagnostic, as the sample's "diagnostics" entries: why a sensor is
 * not used and how to fix it. Strings are NUL-terminated (cut short if
 * ever longer). */
typedef struct jpu_diagnostic {
	size_t sz;         /* sizeof(struct jpu_diagnostic) */
	char sensor[16];   /* "rapl", "hwmon", "perf", "nvml", "estimate", "fake" */
	char reason[16];   /* "permission", "absent", "unsupported" or "error" */
	char message[384]; /* what failed and what to do, one line */
} jpu_diagnostic;

/* Diagnostic number `index` (0-based, in the order of the JSON array) into
 * ret (set ret->sz first). Available right after jpu_engine_new(). Returns
 * the number of diagnostics (> index), or -ENOENT when index is past the
 * last one: loop from 0 until -ENOENT. -EINVAL on a NULL or too small ret. */
JPU_API int jpu_engine_diagnostic(jpu_engine *engine, size_t index, jpu_diagnostic *ret);

/* Parse "system"/"user"/"process"/"cgroup" ("sys" is accepted as the
 * original's spelling). Returns the scope or -EINVAL. */
JPU_API int jpu_scope_from_string(const char *s);
JPU_API const char *jpu_scope_to_string(enum jpu_scope scope);
JPU_API int jpu_idle_policy_from_string(const char *s);

#ifdef __cplusplus
}
#endif

#endif /* JPU_JPU_H */
