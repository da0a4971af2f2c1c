/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVIDIA GPUs through NVML, loaded with dlopen of the versioned soname so
 * that the build never needs CUDA and a machine without the driver simply
 * reports the GPU part absent (STYLE rule 13).
 *
 * Symbols are split into required ones (present since the R3xx drivers)
 * and optional ones that older drivers lack; a missing optional symbol only
 * disables its feature:
 *  - nvmlDeviceGetTotalEnergyConsumption (mJ, Volta and newer): preferred,
 *    a cumulative counter is exact over any interval, where the
 *    instantaneous nvmlDeviceGetPowerUsage (mW) is a ~1 s average;
 *  - nvmlDeviceGetEnforcedPowerLimit (mW): the domain's limit;
 *  - nvmlDeviceGetComputeRunningProcesses_v3 (else _v2): used memory per pid;
 *  - nvmlDeviceGetProcessUtilization: SM utilisation per pid since a
 *    timestamp, which is what gpu_procs reports for attribution. NOT_FOUND
 *    means no sample since then: the GPU was idle, a figure like any other
 *    (jpu_domain.per_process stays true); without the symbol or with
 *    NOT_SUPPORTED nobody can be told apart (per_process false).
 * Reference: NVML API Reference Guide, docs.nvidia.com/deploy/nvml-api/.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"
#include "nvml-api.h"

#define NVML_DEFAULT_LIBRARY "libnvidia-ml.so.1"

struct nvml_api {
	/* required */
	nvmlReturn_t (*init)(void);
	nvmlReturn_t (*shutdown)(void);
	const char *(*error_string)(nvmlReturn_t);
	nvmlReturn_t (*get_count)(unsigned int *);
	nvmlReturn_t (*get_handle)(unsigned int, nvmlDevice_t *);
	nvmlReturn_t (*get_name)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*get_power)(nvmlDevice_t, unsigned int *);
	/* optional: NULL when the driver lacks them */
	nvmlReturn_t (*get_energy)(nvmlDevice_t, unsigned long long *);
	nvmlReturn_t (*get_limit)(nvmlDevice_t, unsigned int *);
	nvmlReturn_t (*get_procs_v3)(nvmlDevice_t, unsigned int *, nvmlProcessInfo_t *);
	nvmlReturn_t (*get_procs_v2)(nvmlDevice_t, unsigned int *, nvmlProcessInfo_t *);
	nvmlReturn_t (*get_proc_util)(nvmlDevice_t, nvmlProcessUtilizationSample_t *,
	                              unsigned int *, unsigned long long);
};

static const struct {
	const char *name;
	size_t offset;
	bool required;
} nvml_symbols[] = {
        {"nvmlInit_v2", offsetof(struct nvml_api, init), true},
        {"nvmlShutdown", offsetof(struct nvml_api, shutdown), true},
        {"nvmlErrorString", offsetof(struct nvml_api, error_string), true},
        {"nvmlDeviceGetCount_v2", offsetof(struct nvml_api, get_count), true},
        {"nvmlDeviceGetHandleByIndex_v2", offsetof(struct nvml_api, get_handle), true},
        {"nvmlDeviceGetName", offsetof(struct nvml_api, get_name), true},
        {"nvmlDeviceGetPowerUsage", offsetof(struct nvml_api, get_power), true},
        {"nvmlDeviceGetTotalEnergyConsumption", offsetof(struct nvml_api, get_energy), false},
        {"nvmlDeviceGetEnforcedPowerLimit", offsetof(struct nvml_api, get_limit), false},
        {"nvmlDeviceGetComputeRunningProcesses_v3", offsetof(struct nvml_api, get_procs_v3), false},
        {"nvmlDeviceGetComputeRunningProcesses_v2", offsetof(struct nvml_api, get_procs_v2), false},
        {"nvmlDeviceGetProcessUtilization", offsetof(struct nvml_api, get_proc_util), false},
};

struct nvml_dev {
	nvmlDevice_t handle;
	unsigned long long last_util_ts; /* newest utilisation sample seen, µs */
	nvmlReturn_t last_error;         /* logged once per distinct error */
};

struct nvml_state {
	void *dl;
	bool initialised;
	struct nvml_api api;
	struct nvml_dev *devs; /* one per domain, same index */
	/* reusable buffers for gpu_procs (sampler thread only) */
	nvmlProcessUtilizationSample_t *util;
	unsigned util_cap;
	nvmlProcessInfo_t *procs;
	unsigned procs_cap;
};

static const char *nvml_strerror(const struct nvml_state *st, nvmlReturn_t r)
{
	const char *m = st->api.error_string ? st->api.error_string(r) : NULL;

	return m ? m : "unknown NVML error";
}

/* NVML return code -> -errno, for read()'s return value */
static int nvml_errno(nvmlReturn_t r)
{
	switch (r) {
	case NVML_ERROR_NO_PERMISSION:
		return -EACCES;
	case NVML_ERROR_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	case NVML_ERROR_GPU_IS_LOST:
		return -ENODEV;
	case NVML_ERROR_MEMORY:
		return -ENOMEM;
	case NVML_ERROR_TIMEOUT:
		return -ETIMEDOUT;
	default:
		return -EIO;
	}
}

static void nvml_close(struct jpu_sensor *s)
{
	struct nvml_state *st = s->priv;

	jpu_sensor_free_domains(s);
	if (!st)
		return;
	if (st->initialised && st->api.shutdown)
		st->api.shutdown();
	if (st->dl)
		dlclose(st->dl);
	free(st->devs);
	free(st->util);
	free(st->procs);
	free(st);
	s->priv = NULL;
}

/* Fail probe: message into diag, undo everything, return r. */
__attribute__((format(printf, 5, 6))) static int nvml_fail(struct jpu_sensor *s,
                                                           struct jpu_diag *diag,
                                                           enum jpu_reason reason, int r,
                                                           const char *fmt, ...)
{
	va_list ap;

	snprintf(diag->sensor, sizeof diag->sensor, "nvml");
	diag->reason = reason;
	va_start(ap, fmt);
	vsnprintf(diag->message, sizeof diag->message, fmt, ap);
	va_end(ap);
	nvml_close(s);
	return r;
}

static int nvml_load(struct nvml_state *st, const char **ret_missing)
{
	for (size_t i = 0; i < JPU_ARRAY_SIZE(nvml_symbols); i++) {
		void *sym = dlsym(st->dl, nvml_symbols[i].name);

		if (!sym && nvml_symbols[i].required) {
			*ret_missing = nvml_symbols[i].name;
			return -EOPNOTSUPP;
		}
		/* POSIX guarantees data and function pointers convert both
		 * ways; memcpy keeps ISO C's pedantic mode quiet */
		memcpy((char *)&st->api + nvml_symbols[i].offset, &sym, sizeof sym);
	}
	return 0;
}

static int nvml_init_error(struct jpu_sensor *s, struct jpu_diag *diag, nvmlReturn_t r)
{
	const char *msg = nvml_strerror(s->priv, r);

	switch (r) {
	case NVML_ERROR_NO_PERMISSION:
		return nvml_fail(s, diag, JPU_REASON_PERMISSION, -EACCES,
		                 "NVML initialisation failed: %s (check the permissions of "
		                 "/dev/nvidia*; in a container, expose the GPU devices)",
		                 msg);
	case NVML_ERROR_DRIVER_NOT_LOADED:
		return nvml_fail(s, diag, JPU_REASON_ABSENT, -ENOENT,
		                 "NVML initialisation failed: %s (is the nvidia kernel module "
		                 "loaded? try nvidia-smi)",
		                 msg);
	case NVML_ERROR_LIB_RM_VERSION_MISMATCH:
		return nvml_fail(s, diag, JPU_REASON_UNSUPPORTED, -EOPNOTSUPP,
		                 "NVML initialisation failed: %s (the driver was upgraded "
		                 "without reloading the kernel module: reboot)",
		                 msg);
	default:
		return nvml_fail(s, diag, JPU_REASON_ERROR, nvml_errno(r),
		                 "NVML initialisation failed: %s", msg);
	}
}

static int nvml_probe(struct jpu_sensor *s, const struct jpu_probe_opts *o, struct jpu_diag *diag)
{
	const char *lib = o->nvml_library ? o->nvml_library : NVML_DEFAULT_LIBRARY;
	const char *missing = NULL;
	struct nvml_state *st;
	unsigned count = 0;
	nvmlReturn_t r;

	if (o->nvml_library && o->nvml_library[0] == '\0')
		return nvml_fail(s, diag, JPU_REASON_ABSENT, -ENOENT,
		                 "GPU measurement disabled (empty NVML library name)");
	st = calloc(1, sizeof *st);
	if (!st)
		return nvml_fail(s, diag, JPU_REASON_ERROR, -ENOMEM, "out of memory");
	s->priv = st;
	st->dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!st->dl) {
		const char *why = dlerror();

		if (!o->nvml_library)
			return nvml_fail(s, diag, JPU_REASON_ABSENT, -ENOENT,
			                 "no NVIDIA driver (" NVML_DEFAULT_LIBRARY " not found)");
		return nvml_fail(s, diag, JPU_REASON_ABSENT, -ENOENT, "no NVIDIA driver (%s: %s)",
		                 lib, why ? why : "cannot be loaded");
	}
	if (nvml_load(st, &missing) < 0)
		return nvml_fail(s, diag, JPU_REASON_UNSUPPORTED, -EOPNOTSUPP,
		                 "%s lacks %s: the NVIDIA driver is too old, upgrade it", lib,
		                 missing);
	r = st->api.init();
	if (r != NVML_SUCCESS)
		return nvml_init_error(s, diag, r);
	st->initialised = true;
	r = st->api.get_count(&count);
	if (r != NVML_SUCCESS)
		return nvml_fail(s, diag, JPU_REASON_ERROR, nvml_errno(r),
		                 "NVML could not count GPUs: %s", nvml_strerror(st, r));
	if (count == 0)
		return nvml_fail(s, diag, JPU_REASON_ABSENT, -ENOENT,
		                 "NVIDIA driver loaded but no GPU found");
	st->devs = calloc(count, sizeof *st->devs);
	if (!st->devs)
		return nvml_fail(s, diag, JPU_REASON_ERROR, -ENOMEM, "out of memory");

	for (unsigned i = 0; i < count; i++) {
		char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = "";
		struct nvml_dev *dev = &st->devs[i];
		struct jpu_domain *d;
		unsigned long long mj;
		unsigned mw;

		/* per-process samples count from now on, not from whatever
		 * NVML still buffers from before we started */
		dev->last_util_ts = jpu_now_real_usec();
		r = st->api.get_handle(i, &dev->handle);
		if (r != NVML_SUCCESS)
			return nvml_fail(s, diag, JPU_REASON_ERROR, nvml_errno(r),
			                 "NVML could not open GPU %u: %s", i, nvml_strerror(st, r));
		if (st->api.get_name(dev->handle, name, sizeof name) != NVML_SUCCESS)
			snprintf(name, sizeof name, "unknown GPU");
		name[sizeof name - 1] = '\0';
		d = jpu_sensor_add_domain(s);
		if (!d)
			return nvml_fail(s, diag, JPU_REASON_ERROR, -ENOMEM, "out of memory");
		d->kind = JPU_DOM_GPU;
		snprintf(d->name, sizeof d->name, "GPU %u: %s", i, name);
		snprintf(d->id, sizeof d->id, "nvml:%u", i);
		/* a feature counts only if a first call succeeds: the symbol
		 * exists on drivers whose GPU does not support it */
		d->has_energy =
		        st->api.get_energy && st->api.get_energy(dev->handle, &mj) == NVML_SUCCESS;
		d->has_power = st->api.get_power(dev->handle, &mw) == NVML_SUCCESS;
		if (st->api.get_limit && st->api.get_limit(dev->handle, &mw) == NVML_SUCCESS) {
			d->has_limit = true;
			d->limit_uw = (uint64_t)mw * 1000;
		}
		if (!d->has_energy && !d->has_power)
			jpu_logf(s->log, JPU_LOG_WARNING,
			         "nvml: %s reports neither energy nor power", d->name);
	}
	return (int)count;
}

static int nvml_read(struct jpu_sensor *s, const struct jpu_sense_ctx *ctx)
{
	struct nvml_state *st = s->priv;
	int first_err = 0;
	size_t valid = 0;

	if (!st)
		return -EBADF;
	for (size_t i = 0; i < s->n_domains; i++) {
		struct jpu_domain *d = &s->domains[i];
		struct nvml_dev *dev = &st->devs[i];
		nvmlReturn_t r = NVML_SUCCESS;
		unsigned long long mj = 0;
		unsigned mw = 0;

		d->valid = false;
		if (d->has_energy)
			r = st->api.get_energy(dev->handle, &mj);
		if (r == NVML_SUCCESS && d->has_power)
			r = st->api.get_power(dev->handle, &mw);
		if (!d->has_energy && !d->has_power)
			r = NVML_ERROR_NOT_SUPPORTED;
		if (r != NVML_SUCCESS) {
			/* log a lost GPU once, not every second */
			if (r != dev->last_error)
				jpu_logf(s->log, JPU_LOG_WARNING, "nvml: %s: %s", d->name,
				         nvml_strerror(st, r));
			dev->last_error = r;
			if (!first_err)
				first_err = nvml_errno(r);
			continue;
		}
		if (dev->last_error != NVML_SUCCESS)
			jpu_logf(s->log, JPU_LOG_INFO, "nvml: %s readable again", d->name);
		dev->last_error = NVML_SUCCESS;
		d->energy_uj = (uint64_t)mj * 1000;
		d->power_uw = (uint64_t)mw * 1000;
		d->valid = true;
		valid++;
	}
	return valid ? 0 : (first_err ? first_err : -ENODATA);
}

/* Make the util buffer hold at least n samples. */
static int util_reserve(struct nvml_state *st, unsigned n)
{
	nvmlProcessUtilizationSample_t *p;

	if (n <= st->util_cap)
		return 0;
	p = realloc(st->util, n * sizeof *p);
	if (!p)
		return -ENOMEM;
	st->util = p;
	st->util_cap = n;
	return 0;
}

static int procs_reserve(struct nvml_state *st, unsigned n)
{
	nvmlProcessInfo_t *p;

	if (n <= st->procs_cap)
		return 0;
	p = realloc(st->procs, n * sizeof *p);
	if (!p)
		return -ENOMEM;
	st->procs = p;
	st->procs_cap = n;
	return 0;
}

/* Per-process SM samples newer than the last call, in st->util. Returns
 * their count, 0 when there is none (NVML answers NOT_FOUND: no process ran
 * on the GPU since then, the normal idle case), or -EOPNOTSUPP when the
 * driver or the GPU gives no per-process figures (symbol missing,
 * NOT_SUPPORTED) or the call failed: then nobody can be told apart. */
static int dev_util_samples(struct nvml_state *st, struct nvml_dev *dev)
{
	unsigned n = 0;
	nvmlReturn_t r;

	if (!st->api.get_proc_util)
		return -EOPNOTSUPP;
	/* NULL buffer asks for the count; allow a few more to appear */
	r = st->api.get_proc_util(dev->handle, NULL, &n, dev->last_util_ts);
	if (r == NVML_ERROR_NOT_FOUND || (r == NVML_SUCCESS && n == 0))
		return 0;
	if (r != NVML_SUCCESS && r != NVML_ERROR_INSUFFICIENT_SIZE)
		return -EOPNOTSUPP;
	if (util_reserve(st, n + 8) < 0)
		return -ENOMEM;
	n = st->util_cap;
	r = st->api.get_proc_util(dev->handle, st->util, &n, dev->last_util_ts);
	if (r == NVML_ERROR_NOT_FOUND)
		return 0;
	if (r != NVML_SUCCESS || n > st->util_cap)
		return -EIO;
	return (int)n;
}

/* Running compute processes with their memory, in st->procs. */
static unsigned dev_running(struct nvml_state *st, struct nvml_dev *dev)
{
	nvmlReturn_t (*fn)(nvmlDevice_t, unsigned *, nvmlProcessInfo_t *) =
	        st->api.get_procs_v3 ? st->api.get_procs_v3 : st->api.get_procs_v2;
	unsigned n;
	nvmlReturn_t r;

	if (!fn || procs_reserve(st, 16) < 0)
		return 0;
	for (int attempt = 0; attempt < 3; attempt++) {
		n = st->procs_cap;
		r = fn(dev->handle, &n, st->procs);
		if (r == NVML_SUCCESS)
			return n <= st->procs_cap ? n : 0;
		/* more processes than room: NVML says how many, grow and retry */
		if (r != NVML_ERROR_INSUFFICIENT_SIZE || procs_reserve(st, n + 16) < 0)
			return 0;
	}
	return 0;
}

/* Find or append pid among out[first..*count). NULL when out is full. */
static struct jpu_gpu_proc *proc_slot(struct jpu_gpu_proc *out, size_t first, size_t *count,
                                      size_t n, pid_t pid, unsigned device)
{
	for (size_t i = first; i < *count; i++)
		if (out[i].pid == pid)
			return &out[i];
	if (*count >= n)
		return NULL;
	out[*count] = (struct jpu_gpu_proc){.pid = pid, .device = device};
	return &out[(*count)++];
}

static int nvml_gpu_procs(struct jpu_sensor *s, struct jpu_gpu_proc *out, size_t n)
{
	struct nvml_state *st = s->priv;
	size_t count = 0;

	if (!st)
		return -EBADF;
	for (size_t i = 0; i < s->n_domains && count < n; i++) {
		struct nvml_dev *dev = &st->devs[i];
		size_t first = count;
		unsigned np;
		int nu;

		s->domains[i].per_process = false;
		if (dev->last_error != NVML_SUCCESS)
			continue; /* lost GPU: nothing to attribute */
		nu = dev_util_samples(st, dev);
		/* no samples is a figure (the GPU was idle); an error is not */
		s->domains[i].per_process = nu >= 0;
		if (nu < 0)
			nu = 0;
		/* a pid may have several samples in the interval: sum them in
		 * sm_util, count them in mem_bytes (still unused), then average */
		for (int k = 0; k < nu; k++) {
			const nvmlProcessUtilizationSample_t *u = &st->util[k];
			struct jpu_gpu_proc *p;

			/* NVML filters by timestamp; check again so that a
			 * sample is never counted twice */
			if (u->timeStamp <= dev->last_util_ts)
				continue;
			p = proc_slot(out, first, &count, n, (pid_t)u->pid, (unsigned)i);
			if (!p)
				break;
			p->sm_util += u->smUtil > 100 ? 100 : u->smUtil;
			p->mem_bytes++;
		}
		for (int k = 0; k < nu; k++)
			if (st->util[k].timeStamp > dev->last_util_ts)
				dev->last_util_ts = st->util[k].timeStamp;
		for (size_t k = first; k < count; k++) {
			if (out[k].mem_bytes > 1)
				out[k].sm_util = (unsigned)(out[k].sm_util / out[k].mem_bytes);
			out[k].mem_bytes = 0;
		}
		np = dev_running(st, dev);
		for (unsigned k = 0; k < np; k++) {
			struct jpu_gpu_proc *p = proc_slot(out, first, &count, n,
			                                   (pid_t)st->procs[k].pid, (unsigned)i);

			if (!p)
				break;
			/* NVML_VALUE_NOT_AVAILABLE (all ones) under WDDM/MIG */
			if (st->procs[k].usedGpuMemory != ~0ULL)
				p->mem_bytes = st->procs[k].usedGpuMemory;
		}
	}
	return (int)count;
}

const struct jpu_sensor_ops jpu_sensor_nvml = {
        .name = "nvml",
        .source = JPU_SRC_NVML,
        .probe = nvml_probe,
        .read = nvml_read,
        .gpu_procs = nvml_gpu_procs,
        .close = nvml_close,
};
