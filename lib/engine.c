/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The engine: options, sensor probing, the sampler thread and the public
 * API of include/jpu/jpu.h. The tick itself lives in accounting.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "jpu-config.h"
#include "proc/procfile.h"
#include "proc/proctab.h"
#include "proc/tree.h"
#include "proc/user.h"

JPU_API const char *jpu_version(void)
{
	return JPU_VERSION;
}

JPU_API int jpu_scope_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	if (strcmp(s, "system") == 0 || strcmp(s, "sys") == 0)
		return JPU_SCOPE_SYSTEM;
	if (strcmp(s, "user") == 0)
		return JPU_SCOPE_USER;
	if (strcmp(s, "process") == 0)
		return JPU_SCOPE_PROCESS;
	if (strcmp(s, "cgroup") == 0)
		return JPU_SCOPE_CGROUP;
	return -EINVAL;
}

JPU_API const char *jpu_scope_to_string(enum jpu_scope scope)
{
	switch (scope) {
	case JPU_SCOPE_USER:
		return "user";
	case JPU_SCOPE_PROCESS:
		return "process";
	case JPU_SCOPE_CGROUP:
		return "cgroup";
	case JPU_SCOPE_SYSTEM:
	default:
		return "system";
	}
}

JPU_API int jpu_idle_policy_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	if (strcmp(s, "none") == 0)
		return JPU_IDLE_NONE;
	if (strcmp(s, "busy") == 0)
		return JPU_IDLE_BUSY;
	if (strcmp(s, "even") == 0)
		return JPU_IDLE_EVEN;
	return -EINVAL;
}

#define OPT(o, field, dflt)                                                                        \
	((o) && (o)->sz >= offsetof(jpu_engine_opts, field) + sizeof((o)->field) ? (o)->field      \
	                                                                         : (dflt))

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void add_diag(struct jpu_engine *e, const struct jpu_diag *d)
{
	if (e->n_diags >= JPU_MAX_DIAGS)
		return;
	e->diags[e->n_diags++] = *d;
}

static bool has_kind(const struct jpu_sensor *s, enum jpu_domain_kind kind)
{
	for (size_t i = 0; i < s->n_domains; i++)
		if (s->domains[i].kind == kind && !s->domains[i].duplicate)
			return true;
	return false;
}

/* Is `name` in the comma-separated list (NULL list = every real backend)? */
static bool wanted(const char *list, const char *name)
{
	size_t n = strlen(name);

	if (!list)
		return strcmp(name, "fake") != 0;
	for (const char *p = list; *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		if (!c)
			break;
		p = c + 1;
	}
	return false;
}

static int probe_one(struct jpu_engine *e, const struct jpu_sensor_ops *ops,
                     const struct jpu_probe_opts *po)
{
	struct jpu_sensor *s;
	struct jpu_diag diag = {0};
	int r;

	if (e->n_sensors >= JPU_MAX_SENSORS)
		return -ENOSPC;
	s = &e->sensors[e->n_sensors];
	memset(s, 0, sizeof *s);
	s->ops = ops;
	s->log = &e->log;
	snprintf(diag.sensor, sizeof diag.sensor, "%s", ops->name);
	r = ops->probe ? ops->probe(s, po, &diag) : -EOPNOTSUPP;
	if (r <= 0 || s->n_domains == 0) {
		if (ops->close)
			ops->close(s);
		jpu_sensor_free_domains(s);
		if (r == 0)
			r = -ENOENT;
		if (diag.reason == JPU_REASON_NONE)
			diag.reason = r == -EACCES || r == -EPERM ? JPU_REASON_PERMISSION
			              : r == -ENOENT              ? JPU_REASON_ABSENT
			                                          : JPU_REASON_UNSUPPORTED;
		if (!diag.message[0])
			snprintf(diag.message, sizeof diag.message, "%s: %s", ops->name,
			         strerror(-r));
		add_diag(e, &diag);
		jpu_logf(&e->log, JPU_LOG_INFO, "sensor %s not used (%s): %s", ops->name,
		         jpu_reason_name(diag.reason), diag.message);
		return r;
	}
	e->dstate[e->n_sensors] = calloc(s->n_domains, sizeof(struct jpu_dom_state));
	if (!e->dstate[e->n_sensors]) {
		if (ops->close)
			ops->close(s);
		jpu_sensor_free_domains(s);
		return -ENOMEM;
	}
	jpu_logf(&e->log, JPU_LOG_INFO, "sensor %s: %zu domains", ops->name, s->n_domains);
	e->n_sensors++;
	return 0;
}

/* Probe in registry order. CPU packages come from the first backend that
 * has them (rapl, then perf, then hwmon's amd_energy sockets); the estimate
 * is probed only when none has; GPUs from every backend that has them
 * (hwmon's amdgpu/i915/xe and nvml), each counted once. */
static int probe_sensors(struct jpu_engine *e, const jpu_engine_opts *o)
{
	struct jpu_probe_opts po = {
	        .sysfs_fd = e->sysfs_fd,
	        .procfs_fd = e->procfs_fd,
	        .nvml_library = e->nvml_library,
	        .mem_bytes = OPT(o, mem_bytes, 0),
	        .ncpu = OPT(o, ncpu, 0),
	        .log = &e->log,
	};
	int r;

	/* an unknown name in the list is a caller's mistake, not "absent" */
	for (const char *p = e->sensor_list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		bool known = false;

		for (size_t i = 0; i < jpu_sensor_registry_len && !known; i++)
			known = strlen(jpu_sensor_registry[i]->name) == len &&
			        strncmp(jpu_sensor_registry[i]->name, p, len) == 0;
		if (!known) {
			jpu_logf(&e->log, JPU_LOG_ERR, "sensors: unknown backend '%.*s'", (int)len,
			         p);
			return -EINVAL;
		}
		p = c ? c + 1 : p + len;
	}
	e->cpu_sensor = -1;
	for (size_t i = 0; i < jpu_sensor_registry_len; i++) {
		const struct jpu_sensor_ops *ops = jpu_sensor_registry[i];
		size_t idx = e->n_sensors;

		if (!wanted(e->sensor_list, ops->name))
			continue;
		/* the estimate stands in only where nothing measures the CPU */
		if (ops->source == JPU_SRC_ESTIMATE && e->cpu_sensor >= 0)
			continue;
		r = probe_one(e, ops, &po);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			continue;
		if (e->cpu_sensor < 0 && has_kind(&e->sensors[idx], JPU_DOM_PACKAGE)) {
			e->cpu_sensor = (int)idx;
			e->has_dram_domain = has_kind(&e->sensors[idx], JPU_DOM_DRAM);
		}
		if (has_kind(&e->sensors[idx], JPU_DOM_GPU))
			e->has_gpu = true;
	}
	return 0;
}

static const char *const domain_kinds[] = {"package", "dram", "psys", "core",
                                           "uncore",  "gpu",  "other"};

/* One record per non-duplicate domain for the node's series (a mirror of
 * a counter would be the same series twice). */
static int make_zones(struct jpu_engine *e)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n_sensors; i++)
		for (size_t k = 0; k < e->sensors[i].n_domains; k++)
			n += !e->sensors[i].domains[k].duplicate;
	if (!n)
		return 0;
	e->zones = calloc(n, sizeof *e->zones);
	if (!e->zones)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_sensors; i++)
		for (size_t k = 0; k < e->sensors[i].n_domains; k++) {
			const struct jpu_domain *d = &e->sensors[i].domains[k];
			struct jpu_zone_rec *z = &e->zones[e->n_zones];

			if (d->duplicate)
				continue;
			snprintf(z->name, sizeof z->name, "%s", d->name);
			snprintf(z->id, sizeof z->id, "%s", d->id);
			z->kind = (unsigned)d->kind < JPU_ARRAY_SIZE(domain_kinds)
			                  ? domain_kinds[d->kind]
			                  : "other";
			z->source = e->sensors[i].ops->name;
			z->gpu = d->kind == JPU_DOM_GPU;
			z->sensor = (int)i;
			z->domain = k;
			e->n_zones++;
		}
	return 0;
}

static int open_root(const char *path, int *ret_fd)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

JPU_API jpu_engine *jpu_engine_free(jpu_engine *e)
{
	if (!e)
		return NULL;
	/* no thread can have started before the locks existed */
	if (e->locks_ready)
		jpu_engine_stop(e);
	for (size_t i = 0; i < e->n_sensors; i++) {
		if (e->sensors[i].ops->close)
			e->sensors[i].ops->close(&e->sensors[i]);
		jpu_sensor_free_domains(&e->sensors[i]);
		free(e->dstate[i]);
	}
	jpu_tracked_free_trees(e);
	free(e->tracked);
	for (size_t i = 0; i < e->n_xscopes; i++)
		jpu_xscope_free(e->xscopes[i]);
	free(e->xscopes);
	free(e->zones);
	jpu_tree_free(e->tree);
	jpu_user_free(e->user);
	jpu_carbon_free(e->carbon);
	jpu_proctab_free(e->proctab);
	free(e->hist);
	free(e->gpu_procs);
	free(e->users);
	jpu_state_close(e);
	if (e->sysfs_fd >= 0)
		close(e->sysfs_fd);
	if (e->procfs_fd >= 0)
		close(e->procfs_fd);
	if (e->locks_ready) {
		pthread_mutex_destroy(&e->lock);
		pthread_mutex_destroy(&e->sample_lock);
		pthread_mutex_destroy(&e->run_lock);
		pthread_cond_destroy(&e->cond);
		pthread_cond_destroy(&e->published);
	}
	free(e->sysfs_root);
	free(e->procfs_root);
	free(e->nvml_library);
	free(e->state_file);
	free(e->sensor_list);
	free(e);
	return NULL;
}

/* The carbon chain from the carbon fields of o (docs/carbon.md). */
static int build_carbon(struct jpu_engine *e, const jpu_engine_opts *o, struct jpu_carbon **ret,
                        uint32_t *ret_pue)
{
	struct jpu_carbon_opts co = {.sz = sizeof co};
	const char *const *urls = OPT(o, carbon_urls, (const char *const *)NULL);
	uint32_t pue = OPT(o, pue_milli, 0);

	if (pue == 0)
		pue = 1000;
	/* a PUE below 1 would mean the building gives energy back */
	if (pue < 1000 || pue > 10000) {
		jpu_logf(&e->log, JPU_LOG_ERR, "pue: %u.%03u is outside 1.0 .. 10.0", pue / 1000,
		         pue % 1000);
		return -EINVAL;
	}
	co.provider = OPT(o, carbon_provider, NULL);
	co.country = OPT(o, country, NULL);
	co.postcode = OPT(o, postcode, NULL);
	co.constant_mg_per_kwh = OPT(o, intensity_mg_per_kwh, 0);
	co.emaps_token = OPT(o, emaps_token, NULL);
	co.timeout_usec = OPT(o, carbon_timeout_usec, 0);
	co.log = &e->log;
	for (size_t i = 0; urls && i < JPU_ARRAY_SIZE(co.base_url); i++)
		co.base_url[i] = urls[i];
	*ret_pue = pue;
	return jpu_carbon_new(&co, ret);
}

/* Both condition variables wait on CLOCK_MONOTONIC deadlines: a change of
 * the wall clock neither stalls the sampler nor ends a wait early. */
static int init_locks(struct jpu_engine *e)
{
	pthread_condattr_t attr;
	int r = -ENOMEM;

	if (pthread_condattr_init(&attr))
		return -ENOMEM;
	if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) {
		r = -EINVAL;
		goto free_attr;
	}
	if (pthread_mutex_init(&e->lock, NULL))
		goto free_attr;
	if (pthread_mutex_init(&e->sample_lock, NULL))
		goto free_lock;
	if (pthread_mutex_init(&e->run_lock, NULL))
		goto free_sample_lock;
	if (pthread_cond_init(&e->cond, &attr))
		goto free_run_lock;
	if (pthread_cond_init(&e->published, &attr))
		goto free_cond;
	pthread_condattr_destroy(&attr);
	return 0;
free_cond:
	pthread_cond_destroy(&e->cond);
free_run_lock:
	pthread_mutex_destroy(&e->run_lock);
free_sample_lock:
	pthread_mutex_destroy(&e->sample_lock);
free_lock:
	pthread_mutex_destroy(&e->lock);
free_attr:
	pthread_condattr_destroy(&attr);
	return r;
}

JPU_API int jpu_engine_new(const jpu_engine_opts *o, jpu_engine **ret)
{
	struct jpu_engine *e;
	const char *s;
	int r;

	if (!ret || (o && o->sz < offsetof(jpu_engine_opts, nvml_library)))
		return -EINVAL;
	e = calloc(1, sizeof *e);
	if (!e)
		return -ENOMEM;
	e->sysfs_fd = -1;
	e->procfs_fd = -1;
	e->state_lock_fd = -1;
	e->log.fn = OPT(o, log, NULL);
	e->log.userdata = OPT(o, log_userdata, NULL);
	e->clock_mono = jpu_now_mono_usec;
	e->clock_real = jpu_now_real_usec;
	r = init_locks(e);
	if (r < 0)
		goto fail;
	e->locks_ready = true;

	s = OPT(o, sysfs_root, NULL);
	e->sysfs_root = strdup(s ? s : "/sys");
	s = OPT(o, procfs_root, NULL);
	e->procfs_root = strdup(s ? s : "/proc");
	e->nvml_library = dup_or_null(OPT(o, nvml_library, NULL));
	e->state_file = dup_or_null(OPT(o, state_file, NULL));
	e->sensor_list = dup_or_null(OPT(o, sensors, NULL));
	if (!e->sysfs_root || !e->procfs_root) {
		r = -ENOMEM;
		goto fail;
	}
	e->interval_usec = OPT(o, interval_usec, 0);
	if (e->interval_usec == 0)
		e->interval_usec = JPU_USEC_PER_SEC;
	if (e->interval_usec < 10000 || e->interval_usec > 3600 * JPU_USEC_PER_SEC) {
		jpu_logf(&e->log, JPU_LOG_ERR, "interval_usec: %llu is outside 10 ms .. 1 h",
		         (unsigned long long)e->interval_usec);
		r = -EINVAL;
		goto fail;
	}
	e->scope = OPT(o, scope, JPU_SCOPE_SYSTEM);
	/* a cgroup is for added scopes (jpu_scope_add), not the engine's own */
	if ((unsigned)e->scope > JPU_SCOPE_PROCESS) {
		jpu_logf(&e->log, JPU_LOG_ERR, "scope: %d is not system, user or process",
		         (int)e->scope);
		r = -EINVAL;
		goto fail;
	}
	e->idle_policy = OPT(o, idle_policy, JPU_IDLE_NONE);
	if ((unsigned)e->idle_policy > JPU_IDLE_EVEN) {
		jpu_logf(&e->log, JPU_LOG_ERR, "idle_policy: unknown value %d",
		         (int)e->idle_policy);
		r = -EINVAL;
		goto fail;
	}
	e->pid = OPT(o, pid, 0);
	if (e->pid <= 0)
		e->pid = getpid();
	e->uid = OPT(o, uid, (uid_t)-1);
	if (e->uid == (uid_t)-1)
		e->uid = getuid();
	e->history_len = OPT(o, history_len, 0);
	e->resolution_micro = OPT(o, resolution_micro, 0);
	if (e->history_len == 0)
		e->history_len = 3600;
	e->hist = calloc(e->history_len, sizeof *e->hist);
	e->gpu_procs = calloc(JPU_MAX_GPU_PROCS, sizeof *e->gpu_procs);
	if (!e->hist || !e->gpu_procs) {
		r = -ENOMEM;
		goto fail;
	}

	r = open_root(e->sysfs_root, &e->sysfs_fd);
	if (r < 0) {
		jpu_logf(&e->log, JPU_LOG_ERR, "sysfs root %s: %s", e->sysfs_root, strerror(-r));
		goto fail;
	}
	r = open_root(e->procfs_root, &e->procfs_fd);
	if (r < 0) {
		jpu_logf(&e->log, JPU_LOG_ERR, "procfs root %s: %s", e->procfs_root, strerror(-r));
		goto fail;
	}
	/* /proc/stat is the basis of every attribution: fail early */
	r = jpu_proc_host_cpu(e->procfs_fd, &e->prev_host);
	if (r < 0) {
		jpu_logf(&e->log, JPU_LOG_ERR, "%s/stat: cannot read host CPU times: %s",
		         e->procfs_root, strerror(-r));
		goto fail;
	}

	r = jpu_proctab_new(e->procfs_fd, e->sysfs_fd, &e->log, &e->proctab);
	if (r < 0)
		goto fail;
	if (e->scope == JPU_SCOPE_PROCESS) {
		r = jpu_proctab_refresh(e->proctab);
		if (r >= 0)
			r = jpu_tree_new(e->proctab, e->pid, &e->tree);
		if (r < 0) {
			jpu_logf(&e->log, JPU_LOG_ERR, "pid %d: %s", (int)e->pid, strerror(-r));
			goto fail;
		}
	} else if (e->scope == JPU_SCOPE_USER) {
		r = jpu_proctab_refresh(e->proctab);
		if (r >= 0)
			r = jpu_user_new(e->proctab, e->uid, &e->user);
		if (r < 0) {
			jpu_logf(&e->log, JPU_LOG_ERR, "uid %u: %s", (unsigned)e->uid,
			         strerror(-r));
			goto fail;
		}
	}

	r = probe_sensors(e, o);
	if (r < 0)
		goto fail;
	r = make_zones(e);
	if (r < 0)
		goto fail;
	r = build_carbon(e, o, &e->carbon, &e->pue_milli);
	if (r < 0)
		goto fail;
	/* locks the file for this engine's life; a file that cannot be
	 * loaded is moved aside, never overwritten (state.c) */
	r = jpu_state_open(e);
	if (r < 0)
		goto fail;
	*ret = e;
	return 0;
fail:
	jpu_engine_free(e);
	return r;
}

void jpu_engine_set_clocks(struct jpu_engine *e, uint64_t (*mono)(void), uint64_t (*real)(void))
{
	e->clock_mono = mono;
	e->clock_real = real;
}

static void *sampler_main(void *arg)
{
	struct jpu_engine *e = arg;
	uint64_t next = jpu_now_mono_usec();
	struct timespec ts;

	pthread_mutex_lock(&e->lock);
	while (!e->stop) {
		pthread_mutex_unlock(&e->lock);
		jpu_engine_sample(e);
		pthread_mutex_lock(&e->lock);
		/* fixed-rate ticks: the next deadline does not drift with the
		 * time a tick took */
		next += e->interval_usec;
		{
			uint64_t now = jpu_now_mono_usec();

			if (next < now)
				next = now + e->interval_usec / 2;
		}
		ts.tv_sec = (time_t)(next / JPU_USEC_PER_SEC);
		ts.tv_nsec = (long)(next % JPU_USEC_PER_SEC) * 1000;
		while (!e->stop) {
			if (pthread_cond_timedwait(&e->cond, &e->lock, &ts) == ETIMEDOUT)
				break;
		}
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

JPU_API int jpu_engine_start(jpu_engine *e)
{
	int r = 0;

	if (!e)
		return -EINVAL;
	pthread_mutex_lock(&e->run_lock);
	pthread_mutex_lock(&e->lock);
	if (!e->thread_running) {
		e->stop = false;
		/* intensity fetches run on their own thread: never in a tick */
		r = -jpu_carbon_start(e->carbon);
		if (r == 0)
			r = pthread_create(&e->thread, NULL, sampler_main, e);
		if (r == 0)
			e->thread_running = true;
	}
	pthread_mutex_unlock(&e->lock);
	pthread_mutex_unlock(&e->run_lock);
	return -r;
}

JPU_API int jpu_engine_stop(jpu_engine *e)
{
	if (!e)
		return -EINVAL;
	/* run_lock: a second stop (or a start) waits for this join instead of
	 * joining the same thread twice or starting one beside it */
	pthread_mutex_lock(&e->run_lock);
	pthread_mutex_lock(&e->lock);
	if (!e->thread_running) {
		pthread_mutex_unlock(&e->lock);
		pthread_mutex_unlock(&e->run_lock);
		return 0;
	}
	e->stop = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);
	pthread_mutex_lock(&e->lock);
	e->thread_running = false;
	pthread_mutex_unlock(&e->lock);
	pthread_mutex_unlock(&e->run_lock);
	return 0;
}

JPU_API int jpu_engine_sample(jpu_engine *e)
{
	int r;

	if (!e)
		return -EINVAL;
	pthread_mutex_lock(&e->sample_lock);
	r = jpu_engine_tick(e);
	pthread_mutex_unlock(&e->sample_lock);
	return r;
}

JPU_API int64_t jpu_engine_wait(jpu_engine *e, int64_t seq, uint64_t timeout_usec)
{
	uint64_t now = jpu_now_mono_usec(), deadline;
	struct timespec ts;
	int64_t got;
	int r = 0;

	if (!e)
		return -EINVAL;
	/* an absolute deadline on the condition variable's clock
	 * (CLOCK_MONOTONIC); the tick signals `published` as it publishes */
	deadline = timeout_usec > UINT64_MAX - now ? UINT64_MAX : now + timeout_usec;
	ts.tv_sec = (time_t)(deadline / JPU_USEC_PER_SEC);
	ts.tv_nsec = (long)(deadline % JPU_USEC_PER_SEC) * 1000;
	pthread_mutex_lock(&e->lock);
	while (e->snap.seq <= seq && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&e->published, &e->lock, &ts);
	got = e->snap.seq;
	pthread_mutex_unlock(&e->lock);
	return got > seq ? got : -ETIMEDOUT;
}

JPU_API int jpu_engine_json(jpu_engine *e, char **ret)
{
	struct jpu_buf b = {.resolution = e->resolution_micro};

	if (!e || !ret)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	if (e->snap.seq == 0) {
		pthread_mutex_unlock(&e->lock);
		return -EAGAIN;
	}
	jpu_json_sample(&b, e, &e->snap);
	pthread_mutex_unlock(&e->lock);
	return jpu_buf_finish(&b, ret);
}

JPU_API int jpu_engine_prometheus(jpu_engine *e, char **ret)
{
	struct jpu_buf b = {.resolution = e->resolution_micro};

	if (!e || !ret)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	jpu_prom_write(&b, e, e->snap.seq ? &e->snap : NULL);
	pthread_mutex_unlock(&e->lock);
	return jpu_buf_finish(&b, ret);
}

JPU_API int jpu_engine_diagnostics_json(jpu_engine *e, char **ret)
{
	struct jpu_buf b = {.resolution = e->resolution_micro};

	if (!e || !ret)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	jpu_json_diagnostics(&b, e);
	pthread_mutex_unlock(&e->lock);
	return jpu_buf_finish(&b, ret);
}

JPU_API int jpu_engine_diagnostic(jpu_engine *e, size_t index, jpu_diagnostic *ret)
{
	jpu_diagnostic d;
	size_t n;

	if (!e || !ret || ret->sz < sizeof(jpu_diagnostic))
		return -EINVAL;
	memset(&d, 0, sizeof d);
	d.sz = sizeof d;
	pthread_mutex_lock(&e->lock);
	n = e->n_diags;
	if (index < n) {
		snprintf(d.sensor, sizeof d.sensor, "%s", e->diags[index].sensor);
		snprintf(d.reason, sizeof d.reason, "%s", jpu_reason_name(e->diags[index].reason));
		snprintf(d.message, sizeof d.message, "%s", e->diags[index].message);
	}
	pthread_mutex_unlock(&e->lock);
	if (index >= n)
		return -ENOENT;
	/* a caller built against an older, shorter struct gets its part */
	memcpy(ret, &d, ret->sz < sizeof d ? ret->sz : sizeof d);
	ret->sz = ret->sz < sizeof d ? ret->sz : sizeof d;
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

JPU_API int jpu_engine_history_json(jpu_engine *e, uint64_t since_usec, char **ret)
{
	struct jpu_buf b = {.resolution = e->resolution_micro};

	if (!e || !ret)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	jpu_json_history(&b, e, since_usec);
	pthread_mutex_unlock(&e->lock);
	return jpu_buf_finish(&b, ret);
}

static struct jpu_tracked *find_tracked(struct jpu_engine *e, const char *tag)
{
	for (size_t i = 0; i < e->n_tracked; i++)
		if (strcmp(e->tracked[i].tag, tag) == 0)
			return &e->tracked[i];
	return NULL;
}

/* One stat of <procfs>/<pid>: the caller learns at once that a pid does
 * not exist, without the /proc scan that building its tree takes. */
static int pid_exists(const struct jpu_engine *e, pid_t pid)
{
	char name[16];
	struct stat st;

	snprintf(name, sizeof name, "%d", (int)pid);
	if (fstatat(e->procfs_fd, name, &st, 0) < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ESRCH;
}

/* Cheap for the caller (the Jupyter event loop): check the pid, record the
 * request under the lock and return. The sampler builds or re-roots the
 * tree at its next tick (tracked.c); it never waits on a tick. */
JPU_API int jpu_track(jpu_engine *e, pid_t pid, const char *tag)
{
	struct jpu_tracked *t, *arr;
	int r;

	if (!e || !tag || !tag[0] || strlen(tag) >= sizeof t->tag || pid <= 0)
		return -EINVAL;
	r = pid_exists(e, pid);
	if (r < 0)
		return r;
	pthread_mutex_lock(&e->lock);
	t = find_tracked(e, tag);
	if (!t) {
		arr = realloc(e->tracked, (e->n_tracked + 1) * sizeof *arr);
		if (!arr) {
			pthread_mutex_unlock(&e->lock);
			return -ENOMEM;
		}
		e->tracked = arr;
		t = &arr[e->n_tracked++];
		memset(t, 0, sizeof *t);
		snprintf(t->tag, sizeof t->tag, "%s", tag);
	}
	/* a known tag (a restarted kernel, or one restored from the state
	 * file) keeps its totals and follows the new tree */
	t->pid = pid;
	t->gen = ++e->track_gen;
	t->alive = true;
	pthread_mutex_unlock(&e->lock);
	return 0;
}

JPU_API int jpu_untrack(jpu_engine *e, const char *tag)
{
	struct jpu_tracked *t;

	if (!e || !tag)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	t = find_tracked(e, tag);
	if (!t) {
		pthread_mutex_unlock(&e->lock);
		return -ENOENT;
	}
	/* its totals stay counted in the past totals (state.c); the sampler
	 * frees the tree at its next tick */
	jpu_state_fold_tag(e, t);
	*t = e->tracked[--e->n_tracked];
	pthread_mutex_unlock(&e->lock);
	return 0;
}

JPU_API int jpu_tracked_json(jpu_engine *e, char **ret)
{
	struct jpu_buf b = {.resolution = e->resolution_micro};

	if (!e || !ret)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	jpu_json_tracked(&b, e);
	pthread_mutex_unlock(&e->lock);
	return jpu_buf_finish(&b, ret);
}

JPU_API int jpu_engine_set_carbon(jpu_engine *e, const jpu_engine_opts *o)
{
	struct jpu_carbon *c = NULL, *old;
	uint32_t pue;
	bool running;
	int r;

	if (!e || !o)
		return -EINVAL;
	r = build_carbon(e, o, &c, &pue);
	if (r < 0)
		return r;
	pthread_mutex_lock(&e->lock);
	running = e->thread_running;
	pthread_mutex_unlock(&e->lock);
	if (running) {
		r = jpu_carbon_start(c);
		if (r < 0) {
			jpu_carbon_free(c);
			return r;
		}
	}
	/* the tick reads e->carbon under the lock only */
	pthread_mutex_lock(&e->lock);
	old = e->carbon;
	e->carbon = c;
	e->pue_milli = pue;
	pthread_mutex_unlock(&e->lock);
	jpu_carbon_free(old);
	return 0;
}

/* The summary of one snapshot; the caller holds e->lock. */
static void fill_summary(const struct jpu_snapshot *n, jpu_summary *ret)
{
	jpu_summary s;

	memset(&s, 0, sizeof s);
	s.sz = sizeof s;
	s.seq = n->seq;
	s.t_usec = n->t_real_usec;
	s.has_cpu = n->cpu.present;
	s.has_dram = n->dram.present;
	s.has_gpu = n->gpu.present;
	s.has_psys = n->psys.present;
	s.cpu_usage_uw = n->cpu.usage_uw;
	s.cpu_total_uw = n->cpu.total_uw;
	s.cpu_idle_uw = n->cpu.idle_uw;
	s.dram_total_uw = n->dram.total_uw;
	s.psys_uw = n->psys.total_uw;
	s.gpu_usage_uw = n->gpu.usage_uw;
	s.gpu_total_uw = n->gpu.total_uw;
	s.cpu_energy_uj = n->energy.cpu_uj;
	s.dram_energy_uj = n->energy.dram_uj;
	s.gpu_energy_uj = n->energy.gpu_uj;
	s.energy_uj = s.cpu_energy_uj + s.dram_energy_uj + s.gpu_energy_uj;
	s.share = n->share;
	s.estimated = n->cpu.source == JPU_SRC_ESTIMATE || n->gpu.source == JPU_SRC_ESTIMATE;
	snprintf(s.cpu_source, sizeof s.cpu_source, "%s", jpu_source_name(n->cpu.source));
	snprintf(s.gpu_source, sizeof s.gpu_source, "%s", jpu_source_name(n->gpu.source));
	s.has_emissions = n->has_emissions;
	s.co2_ug = n->co2_ug;
	s.intensity_mg_per_kwh = n->intensity.mg_per_kwh;
	snprintf(s.carbon_source, sizeof s.carbon_source, "%s", n->intensity.source);
	snprintf(s.carbon_zone, sizeof s.carbon_zone, "%s", n->intensity.zone);
	*ret = s;
}

JPU_API int jpu_engine_summary(jpu_engine *e, jpu_summary *ret)
{
	jpu_summary s;

	if (!e || !ret || ret->sz < offsetof(jpu_summary, gpu_source))
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	fill_summary(&e->snap, &s);
	pthread_mutex_unlock(&e->lock);
	memcpy(ret, &s, ret->sz < sizeof s ? ret->sz : sizeof s);
	ret->sz = ret->sz < sizeof s ? ret->sz : sizeof s;
	return 0;
}

/* ---- added scopes ---------------------------------------------------------- */

void jpu_xscope_free(struct jpu_xscope *x)
{
	if (!x)
		return;
	jpu_tree_free(x->tree);
	jpu_user_free(x->user);
	jpu_cgroup_files_close(&x->cg);
	free(x->cgroup);
	for (size_t i = 0; i < JPU_SCOPE_LABELS_MAX; i++) {
		free(x->labels[i][0]);
		free(x->labels[i][1]);
	}
	free(x->hist);
	free(x);
}

struct jpu_xscope *jpu_xscope_find(const struct jpu_engine *e, const char *key)
{
	for (size_t i = 0; i < e->n_xscopes; i++)
		if (e->xscopes[i]->live && strcmp(e->xscopes[i]->key, key) == 0)
			return e->xscopes[i];
	return NULL;
}

/* The entry restored from the state file under key, if any; under lock. */
static struct jpu_xscope *find_restored(const struct jpu_engine *e, const char *key)
{
	for (size_t i = 0; i < e->n_xscopes; i++)
		if (e->xscopes[i]->restored && !e->xscopes[i]->removed &&
		    strcmp(e->xscopes[i]->key, key) == 0)
			return e->xscopes[i];
	return NULL;
}

/* Keys are path-like names a daemon makes up (a uid, a cgroup path, a
 * caller's tag): a closed alphabet keeps them safe in the state file, in
 * logs and in a URL without escaping. */
bool jpu_scope_key_valid(const char *key)
{
	size_t n = key ? strlen(key) : 0;

	if (n == 0 || n > 127)
		return false;
	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._:/-", *p)))
			return false;
	return true;
}

/* A Prometheus label name (data model: [a-zA-Z_][a-zA-Z0-9_]*), not one
 * of the engine's own. */
static bool valid_label_name(const char *s)
{
	if (!s || !s[0] || (s[0] >= '0' && s[0] <= '9') || strcmp(s, "scope") == 0 ||
	    strcmp(s, "key") == 0)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

#define SPEC(sp, field, dflt)                                                                      \
	((sp)->sz >= offsetof(jpu_scope_spec, field) + sizeof((sp)->field) ? (sp)->field : (dflt))

/* Check spec and copy it into a new entry. -EINVAL naming the field. */
static int xscope_from_spec(struct jpu_engine *e, const char *key, const jpu_scope_spec *sp,
                            struct jpu_xscope **ret)
{
	struct jpu_xscope *x;
	const char *bad = NULL, *cg = sp ? SPEC(sp, cgroup, (const char *)NULL) : NULL;

	if (!sp || sp->sz < offsetof(jpu_scope_spec, pid) + sizeof sp->pid)
		bad = "spec (NULL or sz too small)";
	else if (!jpu_scope_key_valid(key))
		bad = "key (1-127 bytes of [A-Za-z0-9._:/-])";
	else if (sp->scope != JPU_SCOPE_USER && sp->scope != JPU_SCOPE_PROCESS &&
	         sp->scope != JPU_SCOPE_CGROUP)
		bad = "scope (user, process or cgroup)";
	else if (sp->scope == JPU_SCOPE_PROCESS && sp->pid <= 0)
		bad = "pid";
	else if (sp->scope == JPU_SCOPE_USER && sp->uid == (uid_t)-1)
		bad = "uid";
	else if (sp->scope == JPU_SCOPE_CGROUP &&
	         (!cg || cg[0] != '/' || strlen(cg) >= JPU_CGROUP_PATH_MAX))
		bad = "cgroup (an absolute path)";
	if (bad) {
		jpu_logf(&e->log, JPU_LOG_ERR, "scope %s: bad %s",
		         jpu_scope_key_valid(key) ? key : "(key)", bad);
		return -EINVAL;
	}
	for (size_t i = 0; i < JPU_SCOPE_LABELS_MAX &&
	                   sp->sz >= offsetof(jpu_scope_spec, labels) + sizeof sp->labels;
	     i++) {
		const char *name = sp->labels[i][0], *value = sp->labels[i][1];

		if (!name && !value)
			continue;
		bad = !valid_label_name(name) ? "labels (name)" : !value ? "labels (value)" : NULL;
		for (size_t k = 0; !bad && k < i; k++)
			if (sp->labels[k][0] && strcmp(sp->labels[k][0], name) == 0)
				bad = "labels (a name twice)";
		if (bad) {
			jpu_logf(&e->log, JPU_LOG_ERR, "scope %s: bad %s", key, bad);
			return -EINVAL;
		}
	}
	x = calloc(1, sizeof *x);
	if (!x)
		return -ENOMEM;
	x->cg = (struct jpu_cgroup_files)JPU_CGROUP_FILES_INIT;
	x->procfs_fd = -1;
	snprintf(x->key, sizeof x->key, "%s", key);
	x->kind = sp->scope;
	x->uid = sp->uid;
	x->pid = sp->pid;
	x->history_len = SPEC(sp, history_len, 0);
	x->prometheus = SPEC(sp, prometheus, 0) != 0;
	if (sp->scope == JPU_SCOPE_CGROUP && !(x->cgroup = strdup(cg)))
		goto oom;
	for (size_t i = 0; i < JPU_SCOPE_LABELS_MAX &&
	                   sp->sz >= offsetof(jpu_scope_spec, labels) + sizeof sp->labels;
	     i++) {
		if (!sp->labels[i][0])
			continue;
		x->labels[i][0] = strdup(sp->labels[i][0]);
		x->labels[i][1] = strdup(sp->labels[i][1]);
		if (!x->labels[i][0] || !x->labels[i][1])
			goto oom;
	}
	x->history_on_demand = SPEC(sp, history_on_demand, 0) != 0;
	if (x->history_len && !x->history_on_demand &&
	    !(x->hist = calloc(x->history_len, sizeof *x->hist)))
		goto oom;
	*ret = x;
	return 0;
oom:
	jpu_xscope_free(x);
	return -ENOMEM;
}

/* Does the scope's object exist now? One fstatat or openat, never a scan:
 * the caller may be a request handler. */
static int check_exists(struct jpu_engine *e, const struct jpu_xscope *x)
{
	struct jpu_cgroup_files f = JPU_CGROUP_FILES_INIT;
	char name[16];
	struct stat sb;
	int r;

	if (x->kind == JPU_SCOPE_PROCESS) {
		snprintf(name, sizeof name, "%d", (int)x->pid);
		return fstatat(e->procfs_fd, name, &sb, 0) == 0 ? 0 : -ESRCH;
	}
	if (x->kind == JPU_SCOPE_CGROUP) {
		r = jpu_cgroup_open_path(e->sysfs_fd, x->cgroup, &f);
		jpu_cgroup_files_close(&f);
		return r == -ENOMEM ? r : r < 0 ? -ENOENT : 0;
	}
	return 0;
}

/* x continues old's totals (a key restored from the state file, or a tag
 * re-rooted on a new tree); old goes at the next tick. e->lock held. */
static void take_over(struct jpu_xscope *x, struct jpu_xscope *old)
{
	x->energy = old->energy;
	x->co2 = old->co2;
	x->snap.energy = old->energy;
	old->removed = true;
}

JPU_API int jpu_scope_add(jpu_engine *e, const char *key, const jpu_scope_spec *spec)
{
	struct jpu_xscope *x = NULL, *old, **arr;
	int r;

	if (!e)
		return -EINVAL;
	r = xscope_from_spec(e, key, spec, &x);
	if (r < 0)
		return r;
	r = check_exists(e, x);
	if (r < 0) {
		jpu_logf(&e->log, JPU_LOG_INFO, "scope %s: %s", key, strerror(-r));
		goto fail;
	}
	pthread_mutex_lock(&e->lock);
	if (jpu_xscope_find(e, key)) {
		pthread_mutex_unlock(&e->lock);
		r = -EEXIST;
		goto fail;
	}
	arr = realloc(e->xscopes, (e->n_xscopes + 1) * sizeof *arr);
	if (!arr) {
		pthread_mutex_unlock(&e->lock);
		r = -ENOMEM;
		goto fail;
	}
	e->xscopes = arr;
	/* a key the state file knows continues its totals; the restored entry
	 * (never part of a tick) goes at the next tick */
	old = find_restored(e, key);
	if (old) {
		take_over(x, old);
		old->restored = false;
	}
	x->live = true;
	e->xscopes[e->n_xscopes++] = x;
	pthread_mutex_unlock(&e->lock);
	return 0;
fail:
	jpu_xscope_free(x);
	return r;
}

JPU_API int jpu_scope_reroot(jpu_engine *e, const char *key, pid_t pid)
{
	struct jpu_xscope *x = NULL, *old, **arr;
	jpu_scope_spec sp = {.sz = sizeof sp, .scope = JPU_SCOPE_PROCESS};
	int r;

	if (!e || !key || pid <= 0)
		return -EINVAL;
	/* a fresh entry with the old one's spec and the new root, built
	 * outside the lock; the old entry goes at the next tick, as a removed
	 * one does, but its totals move over instead of folding */
	pthread_mutex_lock(&e->lock);
	old = jpu_xscope_find(e, key);
	if (!old || old->kind != JPU_SCOPE_PROCESS) {
		pthread_mutex_unlock(&e->lock);
		return old ? -EINVAL : -ENOENT;
	}
	sp.pid = pid;
	sp.history_len = old->history_len;
	sp.history_on_demand = old->history_on_demand;
	sp.prometheus = old->prometheus;
	for (size_t i = 0; i < JPU_SCOPE_LABELS_MAX; i++) {
		sp.labels[i][0] = old->labels[i][0];
		sp.labels[i][1] = old->labels[i][1];
	}
	r = xscope_from_spec(e, key, &sp, &x);
	pthread_mutex_unlock(&e->lock);
	if (r < 0)
		return r;
	r = check_exists(e, x);
	if (r < 0)
		goto fail;
	pthread_mutex_lock(&e->lock);
	old = jpu_xscope_find(e, key);
	arr = old ? realloc(e->xscopes, (e->n_xscopes + 1) * sizeof *arr) : NULL;
	if (!arr) {
		pthread_mutex_unlock(&e->lock);
		r = old ? -ENOMEM : -ENOENT;
		goto fail;
	}
	e->xscopes = arr;
	take_over(x, old);
	old->live = false;
	x->live = true;
	e->xscopes[e->n_xscopes++] = x;
	pthread_mutex_unlock(&e->lock);
	return 0;
fail:
	jpu_xscope_free(x);
	return r;
}

JPU_API int jpu_scope_remove(jpu_engine *e, const char *key)
{
	struct jpu_xscope *x;

	if (!e || !key)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	x = jpu_xscope_find(e, key);
	if (x) {
		/* counted in the past totals from now on (state.c); the tick
		 * frees it, never this thread: it may be in the tick's reading */
		jpu_state_fold_scope(e, x);
		x->live = false;
		x->removed = true;
	}
	pthread_mutex_unlock(&e->lock);
	return x ? 0 : -ENOENT;
}

/* A scope with history on demand is being read: its ring starts now.
 * Under e->lock; -ENOMEM leaves it for the next read. */
static int xscope_wanted(struct jpu_xscope *x)
{
	if (x->hist || !x->history_len)
		return 0;
	x->hist = calloc(x->history_len, sizeof *x->hist);
	x->hist_head = x->hist_count = 0;
	return x->hist ? 0 : -ENOMEM;
}

JPU_API int jpu_scope_json(jpu_engine *e, const char *key, char **ret)
{
	struct jpu_buf b = {.resolution = e->resolution_micro};
	struct jpu_xscope *x;

	if (!e || !key || !ret)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	x = jpu_xscope_find(e, key);
	if (x)
		(void)xscope_wanted(x);
	if (!x || x->snap.seq == 0) {
		pthread_mutex_unlock(&e->lock);
		return x ? -EAGAIN : -ENOENT;
	}
	jpu_json_scope_sample(&b, e, x);
	pthread_mutex_unlock(&e->lock);
	return jpu_buf_finish(&b, ret);
}

JPU_API int jpu_scope_history_json(jpu_engine *e, const char *key, uint64_t since_usec, char **ret)
{
	struct jpu_buf b = {.resolution = e->resolution_micro};
	struct jpu_xscope *x;

	if (!e || !key || !ret)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	x = jpu_xscope_find(e, key);
	if (x && xscope_wanted(x) < 0) {
		pthread_mutex_unlock(&e->lock);
		return -ENOMEM;
	}
	if (!x || !x->hist) {
		pthread_mutex_unlock(&e->lock);
		return x ? -ENODATA : -ENOENT;
	}
	jpu_json_history_ring(&b, e->interval_usec, x->hist, x->history_len, x->hist_head,
	                      x->hist_count, since_usec);
	pthread_mutex_unlock(&e->lock);
	return jpu_buf_finish(&b, ret);
}

JPU_API int jpu_scope_summary(jpu_engine *e, const char *key, jpu_summary *ret)
{
	struct jpu_xscope *x;
	jpu_summary s;

	if (!e || !key || !ret || ret->sz < offsetof(jpu_summary, gpu_source))
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	x = jpu_xscope_find(e, key);
	if (x) {
		(void)xscope_wanted(x);
		fill_summary(&x->snap, &s);
	}
	pthread_mutex_unlock(&e->lock);
	if (!x)
		return -ENOENT;
	memcpy(ret, &s, ret->sz < sizeof s ? ret->sz : sizeof s);
	ret->sz = ret->sz < sizeof s ? ret->sz : sizeof s;
	return 0;
}
