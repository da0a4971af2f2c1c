/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A stub libnvidia-ml.so.1 for the tests of lib/sensors/nvml.c. Built by
 * tests/meson.build as <build>/tests/libnvidia-ml.so.1 and, with fewer
 * symbols, as stub-old/ (no nvmlDeviceGetTotalEnergyConsumption, no
 * ..._v3: a pre-Volta era driver), stub-min/ (no optional symbol at all)
 * and stub-broken/ (lacks the required nvmlDeviceGetPowerUsage).
 *
 * Behaviour comes from a control file named by $JPU_STUB_NVML, re-read on
 * every call so that a test can change it between two samples. One
 * `key=value` per line, `#` starts a comment:
 *
 *   init=ok | no_permission | driver_not_loaded | mismatch | unknown
 *   count=N                       number of GPUs (default 0)
 *   gpu.I.name=TEXT
 *   gpu.I.power_mw=N              nvmlDeviceGetPowerUsage
 *   gpu.I.energy_mj=N             nvmlDeviceGetTotalEnergyConsumption ...
 *   gpu.I.energy_step_mj=N        ... plus N for every earlier call on GPU I
 *   gpu.I.energy=not_supported    the energy call fails (pre-Volta GPU)
 *   gpu.I.limit_mw=N              nvmlDeviceGetEnforcedPowerLimit (absent:
 *                                 NOT_SUPPORTED)
 *   gpu.I.error=gpu_is_lost | no_permission | unknown
 *                                 every per-device call returns that error
 *   gpu.I.proc=PID,MEM_BYTES      a running compute process (repeatable)
 *   gpu.I.util=PID,SM,TIMESTAMP_US a utilisation sample (repeatable); with
 *                                 none newer than asked for, the call answers
 *                                 NOT_FOUND (an idle GPU), as NVML does
 *   gpu.I.util=not_supported      nvmlDeviceGetProcessUtilization answers
 *                                 NOT_SUPPORTED (no per-process figures)
 *
 * With $JPU_STUB_NVML_LOG set, nvmlInit_v2 and nvmlShutdown append "init"
 * and "shutdown" lines to that file, so a test can check close().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/sensors/nvml-api.h"

#ifndef STUB_NVML_LEVEL
#define STUB_NVML_LEVEL 0 /* 0 full, 1 old, 2 min, 3 broken */
#endif

#define MAX_GPUS  8
#define MAX_ITEMS 32

struct stub_gpu {
	char name[128];
	unsigned long long power_mw, energy_mj, energy_step_mj, limit_mw;
	int has_limit, energy_unsupported, util_unsupported;
	nvmlReturn_t error;
	unsigned nproc, nutil;
	nvmlProcessInfo_t procs[MAX_ITEMS];
	nvmlProcessUtilizationSample_t util[MAX_ITEMS];
};

static struct {
	nvmlReturn_t init;
	unsigned count;
	struct stub_gpu gpu[MAX_GPUS];
} cfg;

static unsigned long long energy_calls[MAX_GPUS];
static int initialised;

static nvmlReturn_t error_named(const char *v)
{
	if (strcmp(v, "no_permission") == 0)
		return NVML_ERROR_NO_PERMISSION;
	if (strcmp(v, "driver_not_loaded") == 0)
		return NVML_ERROR_DRIVER_NOT_LOADED;
	if (strcmp(v, "mismatch") == 0)
		return NVML_ERROR_LIB_RM_VERSION_MISMATCH;
	if (strcmp(v, "gpu_is_lost") == 0)
		return NVML_ERROR_GPU_IS_LOST;
	if (strcmp(v, "ok") == 0)
		return NVML_SUCCESS;
	return NVML_ERROR_UNKNOWN;
}

/* up to 3 comma-separated unsigned numbers; returns how many */
static int numbers(const char *v, unsigned long long out[3])
{
	int n = 0;

	while (n < 3 && *v) {
		char *end;

		out[n++] = strtoull(v, &end, 10);
		if (end == v)
			return -1;
		v = *end == ',' ? end + 1 : end;
		if (*end != ',' && *end != '\0')
			return -1;
	}
	return n;
}

static void set_gpu(struct stub_gpu *g, const char *key, const char *v)
{
	unsigned long long x[3];
	int n = numbers(v, x);

	if (strcmp(key, "name") == 0)
		snprintf(g->name, sizeof g->name, "%s", v);
	else if (strcmp(key, "power_mw") == 0 && n == 1)
		g->power_mw = x[0];
	else if (strcmp(key, "energy_mj") == 0 && n == 1)
		g->energy_mj = x[0];
	else if (strcmp(key, "energy_step_mj") == 0 && n == 1)
		g->energy_step_mj = x[0];
	else if (strcmp(key, "energy") == 0)
		g->energy_unsupported = strcmp(v, "not_supported") == 0;
	else if (strcmp(key, "limit_mw") == 0 && n == 1) {
		g->limit_mw = x[0];
		g->has_limit = 1;
	} else if (strcmp(key, "error") == 0)
		g->error = error_named(v);
	else if (strcmp(key, "proc") == 0 && n == 2 && g->nproc < MAX_ITEMS) {
		g->procs[g->nproc].pid = (unsigned)x[0];
		g->procs[g->nproc++].usedGpuMemory = x[1];
	} else if (strcmp(key, "util") == 0 && strcmp(v, "not_supported") == 0) {
		g->util_unsupported = 1;
	} else if (strcmp(key, "util") == 0 && n == 3 && g->nutil < MAX_ITEMS) {
		g->util[g->nutil].pid = (unsigned)x[0];
		g->util[g->nutil].smUtil = (unsigned)x[1];
		g->util[g->nutil++].timeStamp = x[2];
	}
}

/* Re-read the control file. */
static void load(void)
{
	const char *path = getenv("JPU_STUB_NVML");
	char line[512];
	FILE *f;

	memset(&cfg, 0, sizeof cfg);
	if (!path || !(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof line, f)) {
		char *eq = strchr(line, '='), *key = line, *v;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || !eq)
			continue;
		*eq = '\0';
		v = eq + 1;
		if (strcmp(key, "init") == 0)
			cfg.init = error_named(v);
		else if (strcmp(key, "count") == 0)
			cfg.count = (unsigned)strtoul(v, NULL, 10);
		else if (strncmp(key, "gpu.", 4) == 0) {
			char *dot;
			unsigned long i = strtoul(key + 4, &dot, 10);

			if (*dot == '.' && i < MAX_GPUS)
				set_gpu(&cfg.gpu[i], dot + 1, v);
		}
	}
	fclose(f);
	if (cfg.count > MAX_GPUS)
		cfg.count = MAX_GPUS;
}

static void log_call(const char *what)
{
	const char *path = getenv("JPU_STUB_NVML_LOG");
	FILE *f;

	if (path && (f = fopen(path, "ae"))) {
		fprintf(f, "%s\n", what);
		fclose(f);
	}
}

/* Handles are index + 1 so that NULL is never a valid device. */
static struct stub_gpu *gpu_of(nvmlDevice_t dev, unsigned *ret_index, nvmlReturn_t *ret)
{
	size_t i = (size_t)(const void *)dev;

	load();
	if (!initialised) {
		*ret = NVML_ERROR_UNINITIALIZED;
		return NULL;
	}
	if (i == 0 || i > cfg.count) {
		*ret = NVML_ERROR_INVALID_ARGUMENT;
		return NULL;
	}
	if (cfg.gpu[i - 1].error != NVML_SUCCESS) {
		*ret = cfg.gpu[i - 1].error;
		return NULL;
	}
	if (ret_index)
		*ret_index = (unsigned)(i - 1);
	*ret = NVML_SUCCESS;
	return &cfg.gpu[i - 1];
}

nvmlReturn_t nvmlInit_v2(void)
{
	load();
	log_call("init");
	if (cfg.init != NVML_SUCCESS)
		return cfg.init;
	memset(energy_calls, 0, sizeof energy_calls);
	initialised = 1;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void)
{
	log_call("shutdown");
	if (!initialised)
		return NVML_ERROR_UNINITIALIZED;
	initialised = 0;
	return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t r)
{
	switch (r) {
	case NVML_SUCCESS:
		return "Success";
	case NVML_ERROR_NO_PERMISSION:
		return "Insufficient Permissions";
	case NVML_ERROR_DRIVER_NOT_LOADED:
		return "Driver Not Loaded";
	case NVML_ERROR_GPU_IS_LOST:
		return "GPU is lost";
	case NVML_ERROR_NOT_SUPPORTED:
		return "Not Supported";
	case NVML_ERROR_LIB_RM_VERSION_MISMATCH:
		return "Driver/library version mismatch";
	default:
		return "Unknown Error";
	}
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
	load();
	if (!initialised)
		return NVML_ERROR_UNINITIALIZED;
	*count = cfg.count;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
	load();
	if (!initialised)
		return NVML_ERROR_UNINITIALIZED;
	if (index >= cfg.count)
		return NVML_ERROR_INVALID_ARGUMENT;
	*device = (nvmlDevice_t)(void *)(size_t)(index + 1);
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
	nvmlReturn_t r;
	struct stub_gpu *g = gpu_of(device, NULL, &r);

	if (!g)
		return r;
	if (strlen(g->name) >= length)
		return NVML_ERROR_INSUFFICIENT_SIZE;
	strcpy(name, g->name);
	return NVML_SUCCESS;
}

#if STUB_NVML_LEVEL != 3
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
	nvmlReturn_t r;
	struct stub_gpu *g = gpu_of(device, NULL, &r);

	if (!g)
		return r;
	*power = (unsigned)g->power_mw;
	return NVML_SUCCESS;
}
#endif

#if STUB_NVML_LEVEL == 0 || STUB_NVML_LEVEL == 3
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy)
{
	nvmlReturn_t r;
	unsigned i;
	struct stub_gpu *g = gpu_of(device, &i, &r);

	if (!g)
		return r;
	if (g->energy_unsupported)
		return NVML_ERROR_NOT_SUPPORTED;
	*energy = g->energy_mj + g->energy_step_mj * energy_calls[i]++;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *count,
                                                     nvmlProcessInfo_t *infos)
{
	return nvmlDeviceGetComputeRunningProcesses_v2(device, count, infos);
}
#endif

#if STUB_NVML_LEVEL != 2
nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int *limit)
{
	nvmlReturn_t r;
	struct stub_gpu *g = gpu_of(device, NULL, &r);

	if (!g)
		return r;
	if (!g->has_limit)
		return NVML_ERROR_NOT_SUPPORTED;
	*limit = (unsigned)g->limit_mw;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *count,
                                                     nvmlProcessInfo_t *infos)
{
	nvmlReturn_t r;
	struct stub_gpu *g = gpu_of(device, NULL, &r);

	if (!g)
		return r;
	/* as documented: too small a buffer gets the needed count back */
	if (*count < g->nproc || (!infos && g->nproc)) {
		*count = g->nproc;
		return NVML_ERROR_INSUFFICIENT_SIZE;
	}
	memcpy(infos, g->procs, g->nproc * sizeof *infos);
	*count = g->nproc;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device,
                                             nvmlProcessUtilizationSample_t *utilization,
                                             unsigned int *count, unsigned long long last_seen)
{
	nvmlReturn_t r;
	struct stub_gpu *g = gpu_of(device, NULL, &r);
	unsigned n = 0;

	if (!g)
		return r;
	if (g->util_unsupported)
		return NVML_ERROR_NOT_SUPPORTED;
	for (unsigned k = 0; k < g->nutil; k++)
		n += g->util[k].timeStamp > last_seen;
	if (n == 0)
		return NVML_ERROR_NOT_FOUND;
	if (!utilization || *count < n) {
		*count = n;
		return NVML_ERROR_INSUFFICIENT_SIZE;
	}
	n = 0;
	for (unsigned k = 0; k < g->nutil; k++)
		if (g->util[k].timeStamp > last_seen)
			utilization[n++] = g->util[k];
	*count = n;
	return NVML_SUCCESS;
}
#endif
