/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sensor backends (one const ops table a file, STYLE rule 5), their
 * registry, what each backend exposes to its tests, and the types of the
 * combine stage of a tick (sensors/reading.c).
 */
#ifndef JPU_SENSOR_H
#define JPU_SENSOR_H

#include "../util.h"

/* ---- sensors (lib/sensors/) --------------------------------------------- */

enum jpu_source {
	JPU_SRC_NONE = 0,
	JPU_SRC_RAPL,
	JPU_SRC_HWMON,
	JPU_SRC_PERF,
	JPU_SRC_NVML,
	JPU_SRC_ESTIMATE,
	JPU_SRC_FAKE,
};

enum jpu_reason {
	JPU_REASON_NONE = 0,
	JPU_REASON_PERMISSION,  /* exists but cannot be read by this user */
	JPU_REASON_ABSENT,      /* not present on this machine */
	JPU_REASON_UNSUPPORTED, /* present but not usable (driver, kernel, GPU model) */
	JPU_REASON_ERROR,       /* read failed or returned garbage */
};

const char *jpu_source_name(enum jpu_source s);
const char *jpu_reason_name(enum jpu_reason r);

/* What a domain measures. */
enum jpu_domain_kind {
	JPU_DOM_PACKAGE = 0, /* a CPU package (or die) */
	JPU_DOM_DRAM,
	JPU_DOM_PSYS,   /* whole SoC/platform (laptops): never added to packages */
	JPU_DOM_CORE,   /* inside the package: never added */
	JPU_DOM_UNCORE, /* inside the package: never added */
	JPU_DOM_GPU,
	JPU_DOM_OTHER,
};

/* The CPU times of the host over the whole machine (from /proc/stat), in
 * clock ticks. busy excludes idle, iowait and steal; all = busy + idle +
 * iowait (steal excluded: time the hypervisor gave to someone else). */
struct jpu_host_cpu {
	uint64_t busy_ticks;
	uint64_t all_ticks;
	unsigned ncpu; /* number of cpuN lines */
};

/* Per-sample context handed to sensors. */
struct jpu_sense_ctx {
	uint64_t t_mono_usec;
	uint64_t interval_usec;                /* 0 on the first (baseline) read */
	const struct jpu_host_cpu *host_delta; /* NULL on the first read */
	uint64_t mem_used_bytes, mem_total_bytes;
};

/* One measured quantity: a cumulative energy counter or an instantaneous
 * power. Filled by a backend at probe time; `energy_uj`/`power_uw` updated
 * by read(). */
struct jpu_domain {
	char name[64]; /* "package-0", "dram", "psys", "GPU 0: NVIDIA H100" */
	char id[96];   /* stable id: "intel-rapl:0", "hwmon2/energy1", "nvml:0" */
	enum jpu_domain_kind kind;
	int package;            /* package (socket) index, -1 when not known */
	int die;                /* die index within the package, -1 when not per-die */
	bool has_energy;        /* cumulative counter (preferred) */
	bool has_power;         /* instantaneous power */
	uint64_t max_energy_uj; /* wrap range of the counter, 0 = unknown */
	bool has_limit;
	uint64_t limit_uw;     /* enforced power limit */
	uint64_t max_power_uw; /* largest power the hardware declares (all its
	                        * limits and constraint maxima), 0 = unknown:
	                        * bounds the wraps its counter may take (counter.h) */
	/* updated by read(): */
	bool valid; /* this read produced a value */
	uint64_t energy_uj;
	uint64_t power_uw;
	/* backend private */
	int fd; /* -1 when unused */
	int fd2;
	uint64_t priv;
	/* set by the engine: */
	bool duplicate; /* repeats another domain: never summed */
	/* set by gpu_procs() each tick: the backend reported per-process
	 * figures for this GPU (samples, or "none": the device is idle);
	 * false when it cannot at all (symbol missing, NOT_SUPPORTED) */
	bool per_process;
};

/* GPU per-process utilisation (NVML). */
struct jpu_gpu_proc {
	pid_t pid;
	unsigned device;  /* index into the sensor's domains */
	unsigned sm_util; /* percent over the last interval */
	uint64_t mem_bytes;
};

struct jpu_sensor;

struct jpu_probe_opts {
	int sysfs_fd; /* root fds: every path is relative to one */
	int procfs_fd;
	const char *nvml_library;
	uint64_t mem_bytes; /* estimate overrides, 0 = read */
	unsigned ncpu;
	const struct jpu_logger *log;
};

/* A diagnostic: why a sensor is not used and how to fix it. */
struct jpu_diag {
	char sensor[16];
	enum jpu_reason reason;
	char message[384];
};

/* A backend: a const ops table (STYLE rule 5). What it cannot do is NULL. */
struct jpu_sensor_ops {
	const char *name;
	enum jpu_source source;
	/* Find domains and open counters. Returns the number of domains found
	 * (> 0), or -ENOENT (absent), -EACCES (permission), -EOPNOTSUPP
	 * (unsupported), -errno; on failure fills `diag` with a message that
	 * says how to fix it. */
	int (*probe)(struct jpu_sensor *s, const struct jpu_probe_opts *o, struct jpu_diag *diag);
	/* Update every domain's energy_uj/power_uw and valid flag. Returns 0,
	 * or -errno when nothing could be read this time. */
	int (*read)(struct jpu_sensor *s, const struct jpu_sense_ctx *ctx);
	/* GPU only: per-process utilisation. Returns the count written (<= n). */
	int (*gpu_procs)(struct jpu_sensor *s, struct jpu_gpu_proc *out, size_t n);
	/* Release backend state and close fds. */
	void (*close)(struct jpu_sensor *s);
};

struct jpu_sensor {
	const struct jpu_sensor_ops *ops;
	struct jpu_domain *domains; /* owned, malloc'd by probe */
	size_t n_domains;
	void *priv; /* backend private, freed by close */
	const struct jpu_logger *log;
};

/* Registry of all backends in probe order (sensors/registry.c). */
extern const struct jpu_sensor_ops *const jpu_sensor_registry[];
extern const size_t jpu_sensor_registry_len;
const struct jpu_sensor_ops *jpu_sensor_find(const char *name);

extern const struct jpu_sensor_ops jpu_sensor_rapl;
extern const struct jpu_sensor_ops jpu_sensor_hwmon;
extern const struct jpu_sensor_ops jpu_sensor_perf;
extern const struct jpu_sensor_ops jpu_sensor_nvml;
extern const struct jpu_sensor_ops jpu_sensor_estimate;
extern const struct jpu_sensor_ops jpu_sensor_fake;

/* Helper for backends: append a zeroed domain (fd = fd2 = -1) to s. */
struct jpu_domain *jpu_sensor_add_domain(struct jpu_sensor *s);
/* Free domains and close their fds (backends' close may call it). */
void jpu_sensor_free_domains(struct jpu_sensor *s);

/* ---- rapl, hwmon, perf and fake backends ---------------------------------
 *
 * Duplicates: these backends set jpu_domain.duplicate themselves where they
 * can tell (an intel-rapl-mmio zone repeating an MSR zone; per-die RAPL
 * zones mirroring one counter, see rapl.c for the rule). The engine must
 * also prefer RAPL packages over hwmon amd_energy sockets: both read the
 * same AMD RAPL MSRs, so when the rapl backend gives any PACKAGE domain,
 * hwmon domains for which jpu_domain_is_hwmon_socket() is true are not
 * summed (their ids are "hwmon:amd_energy:socketN"). */

/* True for a hwmon amd_energy socket domain (id "hwmon:amd_energy:socket*"),
 * which repeats the RAPL package counter of the same socket. */
bool jpu_domain_is_hwmon_socket(const struct jpu_domain *d);

/* perf: parse a PMU event's ".scale" file content (a positive finite
 * decimal, "2.3283064365386962890625e-10\n"), independent of LC_NUMERIC.
 * -EINVAL on anything else, -ERANGE when not in (0, 1] J per count. */
int jpu_perf_parse_scale(const char *s, size_t len, double *ret);
/* perf: parse a PMU event file ("event=0x02\n") into the config value.
 * Only the "event=" term is accepted (the power PMU has no others). */
int jpu_perf_parse_event(const char *s, size_t len, uint64_t *ret_config);

/* perf: the system calls, injectable by tests. open returns an fd (which
 * the backend close()s) or -errno; read reads the 8-byte count. */
struct jpu_perf_sys {
	int (*open)(uint32_t type, uint64_t config, int cpu, void *userdata);
	ssize_t (*read)(int fd, void *buf, size_t n, void *userdata);
	void *userdata;
};
/* Replace the system calls for later probes (NULL = the real ones). Test
 * only: not thread-safe, copied into the backend state at probe. */
void jpu_perf_set_sys(const struct jpu_perf_sys *sys);

/* fake: one line of <sysfs>/fake/domains (format documented in fake.c). */
enum jpu_fake_error {
	JPU_FAKE_OK = 0,
	JPU_FAKE_PERMISSION, /* probe: -EACCES; read: domain invalid */
	JPU_FAKE_ERROR,      /* read: domain invalid */
};
struct jpu_fake_line {
	enum jpu_domain_kind kind;
	char name[64];
	bool has_energy, has_power, has_limit;
	uint64_t energy_uj, power_uw, max_energy_uj, limit_uw;
	int package, die;
	enum jpu_fake_error error;
};
/* Parse one line (no newline). Returns 1 for a domain, 0 for a blank or
 * comment line, -EINVAL for anything else. */
int jpu_fake_parse_line(const char *s, size_t len, struct jpu_fake_line *ret);

/* ---- nvml and estimate backends ------------------------------------------ */

/* estimate: what /proc/cpuinfo says about the CPUs. */
struct jpu_cpuinfo {
	char model[128];          /* first "model name", "" when none (Arm) */
	unsigned nproc;           /* "processor" lines */
	unsigned sockets;         /* distinct "physical id" values, 0 = none */
	bool hypervisor;          /* "hypervisor" in flags: a VM */
	unsigned arm_implementer; /* "CPU implementer", "CPU part" (Arm) */
	unsigned arm_part;
};
/* Parse the content of /proc/cpuinfo. -EINVAL on garbage (a non-empty line
 * without ':', a bad number, NUL bytes) or when there is no processor. */
int jpu_parse_cpuinfo(const char *buf, size_t len, struct jpu_cpuinfo *ret);
/* MemTotal and MemAvailable (bytes) from the content of /proc/meminfo. */
int jpu_estimate_parse_meminfo(const char *buf, size_t len, uint64_t *ret_total,
                               uint64_t *ret_avail);
/* Microarchitecture of jpu_vcpu_table guessed from the CPU ("average" when
 * nothing fits). Static string. */
const char *jpu_estimate_guess_arch(const struct jpu_cpuinfo *ci);
/* A cpuinfo model name as CodeCarbon's table spells it
 * ("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz" -> "Intel Xeon E5-2686 v4"). */
void jpu_estimate_tdp_name(const char *model, char *out, size_t size);
/* The TDP table row for a cpuinfo model name, NULL when not listed. */
const struct jpu_tdp_row *jpu_estimate_find_tdp(const char *model);
/* Which model an estimate sensor uses, for display: "per-vCPU cascade_lake
 * 0.64-3.97 W x 2 vCPU" or "TDP 280 W (AMD EPYC 7763) x 1 socket". Borrowed
 * from the sensor until its close(); NULL for other sensors. */
const char *jpu_estimate_basis(const struct jpu_sensor *s);

/* ---- combine: the machine's parts from every sensor's domains ------------ */

#define JPU_MAX_GPUS 16

/* One part (packages, DRAM, psys) summed over the domains of its kind. */
struct jpu_part_sum {
	bool any; /* a figure this interval (one missing domain: none) */
	uint64_t uw;
	bool has_limit;
	uint64_t limit_uw;
	enum jpu_source source;
};

/* One GPU, whatever backend measures it. */
struct jpu_machine_gpu {
	const struct jpu_domain *d;
	enum jpu_source source;
	uint64_t power_uw;
	bool per_process;  /* the backend can tell which process used it */
	uint64_t util_sum; /* SM utilisation of its processes this interval */
};

/* What the machine drew over one interval: the combine stage's output and
 * the attribute stage's input. Deltas, in native units. */
struct jpu_machine {
	uint64_t interval_usec;
	uint64_t host_busy_ticks, host_all_ticks; /* /proc/stat over the interval */
	uint64_t mem_used_bytes;
	unsigned active_users; /* idle policy "even" */
	enum jpu_idle_policy policy;
	struct jpu_part_sum pkg, dram, psys;
	unsigned n_gpus;
	struct jpu_machine_gpu gpus[JPU_MAX_GPUS];
	/* per-process GPU utilisation; device = index into gpus[] */
	const struct jpu_gpu_proc *procs;
	size_t n_procs;
};

#endif /* JPU_SENSOR_H */
