/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RAPL through the perf_event `power` PMU (arch/x86/events/rapl.c): a path
 * when powercap's energy_uj is root-only but perf events are allowed
 * (perf_event_paranoid <= 0, or CAP_PERFMON).
 *
 * <sysfs>/bus/event_source/devices/power/type is the PMU type for
 * perf_event_open(2); events/energy-{pkg,ram,cores,gpu,psys} hold
 * "event=0xNN", with `.scale` (Joules per count, 2^-32 on Intel) and
 * `.unit` ("Joules"). The events are system-wide and counted per package,
 * so each is opened on one CPU of every package (the lowest CPU whose
 * topology/physical_package_id names it); psys covers the platform and is
 * opened once. The kernel keeps the count in 64 bits, so the value only
 * wraps at 2^64 counts (max_energy_uj is that, converted).
 *
 * energy-gpu is RAPL's PP1 plane, the integrated GPU inside the package
 * (powercap calls it "uncore"): it is reported as UNCORE, never added.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include "../internal.h"

#define PERF_MAX_PACKAGES 256
#define PERF_SETTLE_MS    10

/* ---- strict parsers ------------------------------------------------------ */

int jpu_perf_parse_scale(const char *s, size_t len, double *ret)
{
	char buf[64], *end = NULL;
	locale_t c_locale;
	double v;
	int err;

	if (len > 0 && s[len - 1] == '\n')
		len--;
	if (len == 0 || len >= sizeof buf)
		return -EINVAL;
	/* a plain decimal: no sign, no space, no hex, no inf/nan (strtod
	 * would accept all of them) */
	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' ||
		      c == '+'))
			return -EINVAL;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	/* sysfs always writes '.', whatever LC_NUMERIC the host process set */
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c_locale == (locale_t)0)
		return -ENOMEM;
	errno = 0;
	v = strtod_l(buf, &end, c_locale);
	err = errno;
	freelocale(c_locale);
	if (end != buf + len)
		return -EINVAL;
	if (err == ERANGE || !isfinite(v) || v <= 0.0 || v > 1.0)
		return -ERANGE;
	*ret = v;
	return 0;
}

int jpu_perf_parse_event(const char *s, size_t len, uint64_t *ret_config)
{
	uint64_t v = 0;
	size_t i = 8, digits = 0;

	if (len > 0 && s[len - 1] == '\n')
		len--;
	if (len < 9 || memcmp(s, "event=0x", 8) != 0)
		return -EINVAL;
	for (; i < len; i++, digits++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		if (v >> 60)
			return -ERANGE;
		v = v << 4 | d;
	}
	if (digits == 0)
		return -EINVAL;
	*ret_config = v;
	return 0;
}

/* ---- system calls (injectable by tests) --------------------------------- */

static int sys_open(uint32_t type, uint64_t config, int cpu, void *userdata)
{
	struct perf_event_attr attr;
	long fd;

	memset(&attr, 0, sizeof attr);
	attr.size = sizeof attr;
	attr.type = type;
	attr.config = config;
	/* system-wide counting on one CPU: pid -1 */
	fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

static ssize_t sys_read(int fd, void *buf, size_t n, void *userdata)
{
	ssize_t r;

	/* perf fds are read with read(2), which returns the current count */
	do {
		r = read(fd, buf, n);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static const struct jpu_perf_sys real_sys = {sys_open, sys_read, NULL};
static const struct jpu_perf_sys *test_sys;

void jpu_perf_set_sys(const struct jpu_perf_sys *sys)
{
	test_sys = sys;
}

/* ---- the backend ---------------------------------------------------------- */

struct perf_state {
	struct jpu_perf_sys sys;
	double *scale; /* per domain, Joules per count */
};

static const struct {
	const char *event, *name;
	enum jpu_domain_kind kind;
	bool per_package;
} perf_events[] = {
        {"energy-pkg", "package", JPU_DOM_PACKAGE, true},
        {"energy-ram", "dram", JPU_DOM_DRAM, true},
        {"energy-cores", "core", JPU_DOM_CORE, true},
        {"energy-gpu", "uncore", JPU_DOM_UNCORE, true},
        {"energy-psys", "psys", JPU_DOM_PSYS, false},
};

/* pkg_cpu[p] = lowest online CPU of package p, -1 when none. Returns the
 * number of packages (highest index + 1) or -errno. */
static int find_packages(int sysfs_fd, int *pkg_cpu)
{
	struct dirent *de;
	DIR *dir;
	int fd, n = 0;

	for (int i = 0; i < PERF_MAX_PACKAGES; i++)
		pkg_cpu[i] = -1;
	fd = openat(sysfs_fd, "devices/system/cpu", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		int r = -errno;

		close(fd);
		return r;
	}
	while ((de = readdir(dir))) {
		char path[300];
		uint64_t cpu;
		int64_t pkg;
		char buf[32];
		ssize_t len;

		size_t nlen = strlen(de->d_name);

		/* "cpuN" only (not cpufreq, cpuidle): digits to the end */
		if (nlen < 4 || nlen > 10 || strncmp(de->d_name, "cpu", 3) != 0 ||
		    strspn(de->d_name + 3, "0123456789") != nlen - 3 ||
		    jpu_parse_u64(de->d_name + 3, nlen - 3, &cpu) < 0 || cpu > 1u << 20)
			continue;
		snprintf(path, sizeof path, "%s/topology/physical_package_id", de->d_name);
		len = jpu_read_at(dirfd(dir), path, buf, sizeof buf);
		/* offline CPUs have no topology; some arches report -1 */
		if (len < 0 || jpu_parse_i64(buf, (size_t)len, &pkg) < 0 || pkg < 0 ||
		    pkg >= PERF_MAX_PACKAGES)
			continue;
		if (pkg_cpu[pkg] < 0 || (int)cpu < pkg_cpu[pkg])
			pkg_cpu[pkg] = (int)cpu;
		if ((int)pkg + 1 > n)
			n = (int)pkg + 1;
	}
	closedir(dir);
	return n;
}

/* Read config, scale and unit of one event. -ENOENT when absent. */
static int read_event(int pmu_fd, const char *event, uint64_t *config, double *scale,
                      const struct jpu_logger *log)
{
	char path[64], buf[64];
	ssize_t n;
	int r;

	snprintf(path, sizeof path, "events/%s", event);
	n = jpu_read_at(pmu_fd, path, buf, sizeof buf);
	if (n < 0)
		return (int)n;
	r = jpu_perf_parse_event(buf, (size_t)n, config);
	if (r < 0)
		goto bad;
	snprintf(path, sizeof path, "events/%s.scale", event);
	n = jpu_read_at(pmu_fd, path, buf, sizeof buf);
	if (n < 0) {
		r = (int)n;
		goto bad;
	}
	r = jpu_perf_parse_scale(buf, (size_t)n, scale);
	if (r < 0)
		goto bad;
	snprintf(path, sizeof path, "events/%s.unit", event);
	r = jpu_read_str_at(pmu_fd, path, buf, sizeof buf);
	if (r < 0)
		goto bad;
	if (strcmp(buf, "Joules") != 0) {
		r = -EINVAL;
		goto bad;
	}
	return 0;
bad:
	jpu_logf(log, JPU_LOG_WARNING, "perf: power/%s: unusable (%s), skipped", path,
	         strerror(-r));
	return r;
}

static void perf_close(struct jpu_sensor *s)
{
	struct perf_state *st = s->priv;

	jpu_sensor_free_domains(s);
	if (st)
		free(st->scale);
	free(st);
	s->priv = NULL;
}

static void read_one(struct jpu_sensor *s, size_t i)
{
	struct perf_state *st = s->priv;
	struct jpu_domain *d = &s->domains[i];
	uint64_t count;
	ssize_t n = st->sys.read(d->fd, &count, sizeof count, st->sys.userdata);

	if (n != (ssize_t)sizeof count) {
		if (d->valid)
			jpu_logf(s->log, JPU_LOG_WARNING, "perf: cannot read %s: %s", d->id,
			         n < 0 ? strerror((int)-n) : "short read");
		d->valid = false;
		return;
	}
	/* counts x Joules/count x 1e6: long double keeps the µJ exact enough
	 * for any 64-bit count */
	d->energy_uj = (uint64_t)((long double)count * st->scale[i] * 1e6L);
	d->valid = true;
}

static int perf_read(struct jpu_sensor *s, const struct jpu_sense_ctx *ctx)
{
	size_t ok = 0;

	for (size_t i = 0; i < s->n_domains; i++) {
		read_one(s, i);
		ok += s->domains[i].valid;
	}
	return ok ? 0 : -EIO;
}

/* A perf count starts at 0 when the event is opened; RAPL updates its
 * counters about every millisecond, and even an idle package draws well
 * over 2^-32 J in that time. Some hypervisors (seen on a KVM guest) expose
 * the power PMU but the counters stay at 0 for ever: reporting those would
 * be a silent 0 W. So wait a little once, then drop events still at 0. */
static size_t drop_idle(struct jpu_sensor *s)
{
	struct perf_state *st = s->priv;
	struct timespec ts = {0, PERF_SETTLE_MS * 1000000L};
	size_t kept = 0, dead = 0;

	if (s->n_domains == 0)
		return 0;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	for (size_t i = 0; i < s->n_domains; i++) {
		read_one(s, i);
		/* the probe's diagnostic says it once; this is detail for -v */
		if (s->domains[i].valid && s->domains[i].energy_uj == 0) {
			jpu_logf(s->log, JPU_LOG_INFO, "perf: %s does not count, skipped",
			         s->domains[i].id);
			close(s->domains[i].fd);
			dead++;
			continue;
		}
		s->domains[kept] = s->domains[i];
		st->scale[kept] = st->scale[i];
		kept++;
	}
	s->n_domains = kept;
	return dead;
}

static int perf_probe(struct jpu_sensor *s, const struct jpu_probe_opts *o, struct jpu_diag *diag)
{
	struct perf_state *st;
	int pkg_cpu[PERF_MAX_PACKAGES];
	int pmu_fd, npkg, r, open_err = 0;
	size_t n_dead;
	uint64_t type;

	s->log = o->log;
	pmu_fd = openat(o->sysfs_fd, "bus/event_source/devices/power",
	                O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pmu_fd < 0) {
		diag->reason = JPU_REASON_ABSENT;
		snprintf(diag->message, sizeof diag->message,
		         "perf: no `power` PMU (bus/event_source/devices/power: %s): the CPU or "
		         "kernel has no RAPL perf events (virtual machines have none)",
		         strerror(errno));
		return -ENOENT;
	}
	st = calloc(1, sizeof *st);
	if (!st) {
		close(pmu_fd);
		return -ENOMEM;
	}
	s->priv = st;
	st->sys = test_sys ? *test_sys : real_sys;

	r = jpu_read_u64_at(pmu_fd, "type", &type);
	if (r < 0 || type > UINT32_MAX) {
		diag->reason = JPU_REASON_UNSUPPORTED;
		snprintf(diag->message, sizeof diag->message,
		         "perf: power PMU has no usable `type` (%s)",
		         strerror(r < 0 ? -r : ERANGE));
		r = -EOPNOTSUPP;
		goto fail;
	}
	npkg = find_packages(o->sysfs_fd, pkg_cpu);
	if (npkg <= 0) {
		diag->reason = JPU_REASON_UNSUPPORTED;
		snprintf(diag->message, sizeof diag->message,
		         "perf: no CPU topology under devices/system/cpu (%s)",
		         npkg < 0 ? strerror(-npkg) : "no package ids");
		r = -EOPNOTSUPP;
		goto fail;
	}

	for (size_t e = 0; e < JPU_ARRAY_SIZE(perf_events); e++) {
		uint64_t config;
		double scale;

		if (read_event(pmu_fd, perf_events[e].event, &config, &scale, o->log) < 0)
			continue;
		for (int p = 0; p < npkg; p++) {
			struct jpu_domain *d;
			double *ns;
			int fd;

			if (pkg_cpu[p] < 0)
				continue;
			fd = st->sys.open((uint32_t)type, config, pkg_cpu[p], st->sys.userdata);
			if (fd < 0) {
				if (!open_err || fd == -EACCES || fd == -EPERM)
					open_err = fd;
				jpu_logf(o->log, JPU_LOG_INFO, "perf: open power/%s on cpu %d: %s",
				         perf_events[e].event, pkg_cpu[p], strerror(-fd));
				continue;
			}
			ns = realloc(st->scale, (s->n_domains + 1) * sizeof *ns);
			if (ns)
				st->scale = ns;
			d = ns ? jpu_sensor_add_domain(s) : NULL;
			if (!d) {
				close(fd);
				r = -ENOMEM;
				goto fail;
			}
			st->scale[s->n_domains - 1] = scale;
			d->fd = fd;
			d->kind = perf_events[e].kind;
			d->package = perf_events[e].per_package ? p : -1;
			d->has_energy = true;
			d->max_energy_uj = (uint64_t)(18446744073709551616.0L * scale * 1e6L);
			if (perf_events[e].kind == JPU_DOM_PACKAGE)
				snprintf(d->name, sizeof d->name, "package-%d", p);
			else
				snprintf(d->name, sizeof d->name, "%s", perf_events[e].name);
			snprintf(d->id, sizeof d->id, "perf:%s:%d", perf_events[e].event, p);
			if (!perf_events[e].per_package)
				break;
		}
	}
	n_dead = drop_idle(s);
	if (s->n_domains == 0 && n_dead) {
		diag->reason = JPU_REASON_ABSENT;
		snprintf(diag->message, sizeof diag->message,
		         "perf: the power PMU's events open but never count (%zu read 0 after "
		         "%u ms): a virtual machine exposing RAPL events without the counters",
		         n_dead, PERF_SETTLE_MS);
		r = -ENOENT;
		goto fail;
	}
	if (s->n_domains == 0) {
		if (open_err == -EACCES || open_err == -EPERM) {
			diag->reason = JPU_REASON_PERMISSION;
			snprintf(diag->message, sizeof diag->message,
			         "perf: system-wide power events need CAP_PERFMON or "
			         "kernel.perf_event_paranoid <= 0 (sysctl)");
			r = -EACCES;
		} else {
			diag->reason = JPU_REASON_ABSENT;
			snprintf(diag->message, sizeof diag->message,
			         "perf: no power event could be opened (%s)",
			         open_err ? strerror(-open_err) : "no energy-* events");
			r = -ENOENT;
		}
		goto fail;
	}
	close(pmu_fd);
	return (int)s->n_domains;
fail:
	close(pmu_fd);
	perf_close(s);
	return r;
}

const struct jpu_sensor_ops jpu_sensor_perf = {
        .name = "perf",
        .source = JPU_SRC_PERF,
        .probe = perf_probe,
        .read = perf_read,
        .close = perf_close,
};
