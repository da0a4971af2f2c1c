/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RAPL through the powercap framework: <sysfs>/class/powercap/intel-rapl:*
 * and intel-rapl-mmio:* (Intel, and AMD since Linux 5.8, which reuses the
 * intel-rapl names). Sysfs layout from the kernel's
 * Documentation/power/powercap/powercap.rst: each zone has `name`,
 * `energy_uj` (cumulative, wraps at `max_energy_range_uj`) and constraints
 * `constraint_N_name` / `constraint_N_power_limit_uw`.
 *
 * energy_uj is readable by root only since Linux 5.10 (CVE-2020-8694,
 * PLATYPUS): a failed open with EACCES is reported with a fix that keeps
 * the counters away from unprivileged users in general.
 *
 * Duplicates (domain->duplicate):
 *  - an intel-rapl-mmio zone whose name repeats an MSR zone (the mmio
 *    interface of client chips exposes the same package counter again);
 *  - per-die zones of one package that mirror one counter (AMD parts whose
 *    kernel registered a zone per die, each reading the one package MSR).
 *    What identifies the hardware makes a pair a candidate: two per-die
 *    package zones ("package-N-die-M", MSR interface) of the same package
 *    with the same max_energy_range_uj; the later is compared with the
 *    first die of its package. The pair starts as one counter when the two
 *    read within the skew tolerance at probe (re-read back to back up to
 *    three times), or when the CPU topology
 *    (devices/system/cpu/cpuN/topology/{physical_package_id,die_id}) gives
 *    that die no CPU of its own. From then on deltas over several reads
 *    decide, never one instant: two reads of one counter differ by what it
 *    gains between the two preads (a counter update lands every ~1 ms; a
 *    preempted thread waits longer), so the tolerance is the energy of
 *    RAPL_SKEW_USEC at the package's plausible power (lib/counter.c). A
 *    mirror becomes two counters only after RAPL_SPLIT_READS reads in a row
 *    apart by more (each confirmed by a back-to-back re-read); two counters
 *    become a mirror only after RAPL_JOIN_READS reads in a row within it
 *    while the counter advanced by at least RAPL_JOIN_SPAN tolerances (two
 *    separate dies drawing the same power pass each other slowly: that
 *    many reads rule it out unless their powers agree within a few %).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../counter.h"

/* Mirrored dies (see the top comment) */
#define RAPL_SKEW_USEC   10000ULL /* 10 ms of counter updates between two reads */
#define RAPL_SPLIT_READS 5        /* reads apart in a row: two counters */
#define RAPL_JOIN_READS  30       /* reads together in a row: one counter */
#define RAPL_JOIN_SPAN   100      /* ... while it advanced this many tolerances */
#define RAPL_PROBE_TRIES 3        /* back-to-back reads of a pair at probe */

/* Per domain: the die it may mirror and the evidence so far. */
struct rapl_die {
	size_t primary;   /* index of the first die of the package + 1, 0 = none */
	uint64_t tol_uj;  /* skew tolerance */
	unsigned run;     /* reads in a row contradicting the current state */
	uint64_t span_uj; /* advance of the primary over a joining run */
	uint64_t last_uj; /* primary's value at the previous comparison */
	bool have_last;
	bool undecided; /* not both readable at probe: decide at the first read */
};

struct rapl_state {
	struct rapl_die *die; /* n_domains entries */
};

struct rapl_zone_name {
	char id[64];
	bool mmio;
};

/* "intel-rapl:0", "intel-rapl:0:1", "intel-rapl-mmio:0": the zone ids the
 * kernel's intel_rapl_common.c creates. Anything else (the control type
 * "intel-rapl" itself, other powercap drivers) is not ours. */
static bool zone_id_valid(const char *s, bool *ret_mmio, unsigned *ret_depth)
{
	const char *p;
	unsigned depth = 0;

	if (strncmp(s, "intel-rapl-mmio:", 16) == 0) {
		*ret_mmio = true;
		p = s + 15;
	} else if (strncmp(s, "intel-rapl:", 11) == 0) {
		*ret_mmio = false;
		p = s + 10;
	} else {
		return false;
	}
	while (*p == ':') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
		depth++;
	}
	*ret_depth = depth;
	return *p == '\0' && depth >= 1 && depth <= 2;
}

/* Parse "<digits>" at *p, advancing it. */
static bool take_uint(const char **p, int *ret)
{
	long v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (*s - '0');
		if (v > 4096)
			return false;
		s++;
	}
	*p = s;
	*ret = (int)v;
	return true;
}

/* Map a zone name to a kind: "package-N", "package-N-die-M", "dram",
 * "psys", "core", "uncore" (intel_rapl_common.c rapl_domain_names). */
static enum jpu_domain_kind kind_of(const char *name, int *ret_pkg, int *ret_die)
{
	const char *p;
	int pkg, die;

	*ret_pkg = -1;
	*ret_die = -1;
	if (strncmp(name, "package-", 8) == 0) {
		p = name + 8;
		if (!take_uint(&p, &pkg))
			return JPU_DOM_OTHER;
		if (*p == '\0') {
			*ret_pkg = pkg;
			return JPU_DOM_PACKAGE;
		}
		if (strncmp(p, "-die-", 5) != 0)
			return JPU_DOM_OTHER;
		p += 5;
		if (!take_uint(&p, &die) || *p != '\0')
			return JPU_DOM_OTHER;
		*ret_pkg = pkg;
		*ret_die = die;
		return JPU_DOM_PACKAGE;
	}
	if (strcmp(name, "dram") == 0)
		return JPU_DOM_DRAM;
	if (strcmp(name, "psys") == 0)
		return JPU_DOM_PSYS;
	if (strcmp(name, "core") == 0)
		return JPU_DOM_CORE;
	if (strcmp(name, "uncore") == 0)
		return JPU_DOM_UNCORE;
	return JPU_DOM_OTHER;
}

static int cmp_zone(const void *a, const void *b)
{
	const struct rapl_zone_name *x = a, *y = b;

	/* MSR zones first so that mmio repeats are found after them; then by
	 * id, which puts a parent before its subzones */
	if (x->mmio != y->mmio)
		return x->mmio ? 1 : -1;
	return strcmp(x->id, y->id);
}

/* List the rapl zone ids under class/powercap, sorted. */
static int list_zones(int pc_fd, struct rapl_zone_name **ret, size_t *ret_n)
{
	struct rapl_zone_name *v = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *dir;
	int fd, r = 0;

	fd = fcntl(pc_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(dir))) {
		struct rapl_zone_name *nv;
		bool mmio;
		unsigned depth;

		if (strlen(de->d_name) >= sizeof v->id || !zone_id_valid(de->d_name, &mmio, &depth))
			continue;
		nv = realloc(v, (n + 1) * sizeof *v);
		if (!nv) {
			r = -ENOMEM;
			goto fail;
		}
		v = nv;
		snprintf(v[n].id, sizeof v[n].id, "%s", de->d_name);
		v[n].mmio = mmio;
		n++;
	}
	closedir(dir);
	if (n)
		qsort(v, n, sizeof *v, cmp_zone);
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	closedir(dir);
	free(v);
	return r;
}

/* The enforced limit: the "long_term" constraint (PL1), when the zone's
 * limits are enabled. Constraint names from intel_rapl_common.c. Also the
 * largest power the zone declares, enforced or not (every constraint's
 * max_power_uw: PKG_POWER_INFO's thermal spec and maximum power, PL4
 * derived from PL2; and the enabled limits): it bounds the wraps the
 * counter may take (lib/counter.c). */
static void read_limit(int zfd, struct jpu_domain *d)
{
	char path[64], cname[32];
	uint64_t enabled, uw;
	bool on = !(jpu_read_u64_at(zfd, "enabled", &enabled) == 0 && enabled == 0);

	for (unsigned i = 0; i < 8; i++) {
		snprintf(path, sizeof path, "constraint_%u_name", i);
		if (jpu_read_str_at(zfd, path, cname, sizeof cname) < 0)
			break;
		snprintf(path, sizeof path, "constraint_%u_max_power_uw", i);
		if (jpu_read_u64_at(zfd, path, &uw) == 0 && uw > d->max_power_uw)
			d->max_power_uw = uw;
		if (!on)
			continue;
		snprintf(path, sizeof path, "constraint_%u_power_limit_uw", i);
		if (jpu_read_u64_at(zfd, path, &uw) < 0 || uw == 0)
			continue;
		if (uw > d->max_power_uw)
			d->max_power_uw = uw;
		if (strcmp(cname, "long_term") == 0 && !d->has_limit) {
			d->has_limit = true;
			d->limit_uw = uw;
		}
	}
}

/* The package of a subzone is its parent's: intel-rapl:0:1 -> intel-rapl:0 */
static const struct jpu_domain *find_parent(const struct jpu_sensor *s, const char *id)
{
	const char *last = strrchr(id, ':');
	size_t plen;

	if (!last)
		return NULL;
	plen = (size_t)(last - id);
	for (size_t i = 0; i < s->n_domains; i++)
		if (strlen(s->domains[i].id) == plen && strncmp(s->domains[i].id, id, plen) == 0)
			return &s->domains[i];
	return NULL;
}

/* The dies of package `pkg` that have CPUs, as a bit mask, from the CPU
 * topology in sysfs. -ENOENT when the topology does not say (no die_id
 * before Linux 5.2, or no CPU of that package listed). */
static int topology_dies(int sysfs_fd, int pkg, uint64_t *ret_mask)
{
	uint64_t mask = 0;
	struct dirent *de;
	DIR *dir;
	int fd;

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
		uint64_t cpu, p, die;
		size_t nlen = strlen(de->d_name);

		/* "cpuN" only (not cpufreq, cpuidle); offline CPUs have no
		 * topology and are skipped */
		if (nlen < 4 || nlen > 10 || strncmp(de->d_name, "cpu", 3) != 0 ||
		    strspn(de->d_name + 3, "0123456789") != nlen - 3 ||
		    jpu_parse_u64(de->d_name + 3, nlen - 3, &cpu) < 0)
			continue;
		snprintf(path, sizeof path, "%s/topology/physical_package_id", de->d_name);
		if (jpu_read_u64_at(dirfd(dir), path, &p) < 0 || p != (uint64_t)pkg)
			continue;
		snprintf(path, sizeof path, "%s/topology/die_id", de->d_name);
		if (jpu_read_u64_at(dirfd(dir), path, &die) < 0 || die >= 64) {
			mask = 0;
			break;
		}
		mask |= 1ULL << die;
	}
	closedir(dir);
	if (!mask)
		return -ENOENT;
	*ret_mask = mask;
	return 0;
}

/* Distance between two readings of counters wrapping at range. */
static uint64_t ring_dist(uint64_t a, uint64_t b, uint64_t range)
{
	uint64_t d = a > b ? a - b : b - a;

	return range && d > range / 2 && d <= range ? range - d : d;
}

static void read_one(struct jpu_domain *d, const struct jpu_logger *log);

/* Whether the die domain i and its primary read as one counter now; when
 * they are apart, they are read again back to back (up to `tries` times),
 * so that an update landing between two preads is not taken for two
 * counters. */
static bool pair_close(struct jpu_sensor *s, size_t i, unsigned tries)
{
	const struct rapl_state *st = s->priv;
	const struct rapl_die *rd = &st->die[i];
	struct jpu_domain *d = &s->domains[i], *p = &s->domains[rd->primary - 1];

	for (unsigned k = 0;; k++) {
		if (ring_dist(p->energy_uj, d->energy_uj, d->max_energy_uj) <= rd->tol_uj)
			return true;
		if (k + 1 >= tries)
			return false;
		read_one(p, s->log);
		read_one(d, s->log);
		if (!p->valid || !d->valid)
			return false;
	}
}

/* The subzones of die zone i (its dram, core) read the subzones of the
 * same name under its primary when the die mirrors it: they follow. */
static void follow_die(struct jpu_sensor *s, size_t i)
{
	const struct rapl_state *st = s->priv;
	const struct jpu_domain *d = &s->domains[i];
	const struct jpu_domain *p = &s->domains[st->die[i].primary - 1];
	size_t dl = strlen(d->id), pl = strlen(p->id);

	for (size_t k = 0; k < s->n_domains; k++) {
		struct jpu_domain *sub = &s->domains[k];

		if (strncmp(sub->id, d->id, dl) != 0 || sub->id[dl] != ':')
			continue;
		sub->duplicate = false;
		for (size_t j = 0; d->duplicate && j < s->n_domains; j++) {
			const struct jpu_domain *twin = &s->domains[j];

			if (strncmp(twin->id, p->id, pl) == 0 && twin->id[pl] == ':' &&
			    strcmp(twin->name, sub->name) == 0 &&
			    twin->max_energy_uj == sub->max_energy_uj) {
				sub->duplicate = true;
				break;
			}
		}
	}
}

static int mark_duplicates(struct jpu_sensor *s, int sysfs_fd)
{
	struct rapl_state *st = calloc(1, sizeof *st);

	if (!st || !(st->die = calloc(s->n_domains, sizeof *st->die))) {
		free(st);
		return -ENOMEM;
	}
	s->priv = st;
	for (size_t i = 0; i < s->n_domains; i++) {
		struct jpu_domain *d = &s->domains[i];
		struct rapl_die *rd = &st->die[i];

		/* mmio zone repeating an MSR zone of the same name and package */
		if (strncmp(d->id, "intel-rapl-mmio:", 16) == 0) {
			for (size_t j = 0; j < s->n_domains; j++) {
				const struct jpu_domain *m = &s->domains[j];

				if (strncmp(m->id, "intel-rapl:", 11) == 0 &&
				    strcmp(m->name, d->name) == 0 && m->package == d->package) {
					d->duplicate = true;
					break;
				}
			}
			continue;
		}
		/* per-die zones that may mirror one counter (see the top comment):
		 * compared with the first die zone of the package */
		if (d->kind != JPU_DOM_PACKAGE || d->die < 0)
			continue;
		for (size_t j = 0; j < i; j++) {
			const struct jpu_domain *p = &s->domains[j];
			struct jpu_counter_limits lim;
			uint64_t dies = 0;

			if (p->kind != JPU_DOM_PACKAGE || p->die < 0 || st->die[j].primary ||
			    p->package != d->package || p->max_energy_uj != d->max_energy_uj ||
			    strncmp(p->id, "intel-rapl:", 11) != 0)
				continue;
			jpu_counter_limits_of(p, &lim);
			rd->primary = j + 1;
			rd->tol_uj = (uint64_t)((long double)lim.ceiling_uw * RAPL_SKEW_USEC /
			                        JPU_USEC_PER_SEC);
			/* a die with no CPU of its own is not separate silicon */
			if (topology_dies(sysfs_fd, d->package, &dies) == 0 && d->die < 64 &&
			    !(dies >> d->die & 1))
				d->duplicate = true;
			else if (!d->valid || !p->valid)
				rd->undecided = true;
			else
				d->duplicate = pair_close(s, i, RAPL_PROBE_TRIES);
			follow_die(s, i);
			if (d->duplicate)
				jpu_logf(s->log, JPU_LOG_INFO,
				         "rapl: %s (%s) mirrors %s (%s): counted once", d->id,
				         d->name, p->id, p->name);
			break;
		}
	}
	return 0;
}

static void read_one(struct jpu_domain *d, const struct jpu_logger *log)
{
	uint64_t v;
	int r = jpu_read_u64_fd(d->fd, &v);

	if (r < 0) {
		if (d->valid)
			jpu_logf(log, JPU_LOG_WARNING, "rapl: cannot read %s/energy_uj: %s", d->id,
			         strerror(-r));
		d->valid = false;
		return;
	}
	/* a value beyond the documented wrap range is garbage, not energy */
	if (d->max_energy_uj && v > d->max_energy_uj) {
		jpu_logf(log, JPU_LOG_WARNING, "rapl: %s/energy_uj %llu exceeds its range %llu",
		         d->id, (unsigned long long)v, (unsigned long long)d->max_energy_uj);
		d->valid = false;
		return;
	}
	d->energy_uj = v;
	d->valid = true;
}

/* One read's evidence on a candidate pair (see the top comment). */
static void weigh_pair(struct jpu_sensor *s, size_t i)
{
	struct rapl_state *st = s->priv;
	struct rapl_die *rd = &st->die[i];
	struct jpu_domain *d = &s->domains[i], *p = &s->domains[rd->primary - 1];
	bool close_now;

	if (!p->valid || !d->valid) {
		rd->have_last = false;
		return;
	}
	if (rd->undecided) {
		/* the comparison the probe could not make */
		rd->undecided = false;
		if (pair_close(s, i, RAPL_PROBE_TRIES) && p->valid && d->valid) {
			d->duplicate = true;
			follow_die(s, i);
			jpu_logf(s->log, JPU_LOG_INFO, "rapl: %s mirrors %s: counted once", d->id,
			         p->id);
		}
		return;
	}
	close_now = pair_close(s, i, 2);
	if (!p->valid || !d->valid) {
		rd->have_last = false;
		return;
	}
	if (close_now == d->duplicate) {
		/* agrees with what we hold: the contrary run starts again */
		rd->run = 0;
		rd->span_uj = 0;
	} else {
		rd->run++;
		if (rd->have_last)
			rd->span_uj += ring_dist(p->energy_uj, rd->last_uj, p->max_energy_uj);
	}
	rd->last_uj = p->energy_uj;
	rd->have_last = true;
	if (d->duplicate && rd->run >= RAPL_SPLIT_READS) {
		jpu_logf(s->log, JPU_LOG_INFO,
		         "rapl: %s and %s were more than %llu uJ apart on %u reads in a row: two "
		         "counters, summing both",
		         p->id, d->id, (unsigned long long)rd->tol_uj, rd->run);
		d->duplicate = false;
		follow_die(s, i);
		rd->run = 0;
		rd->span_uj = 0;
	} else if (!d->duplicate && rd->run >= RAPL_JOIN_READS &&
	           rd->span_uj >= RAPL_JOIN_SPAN * rd->tol_uj) {
		jpu_logf(s->log, JPU_LOG_INFO,
		         "rapl: %s and %s stayed within %llu uJ on %u reads in a row: one counter, "
		         "counted once",
		         p->id, d->id, (unsigned long long)rd->tol_uj, rd->run);
		d->duplicate = true;
		follow_die(s, i);
		rd->run = 0;
		rd->span_uj = 0;
	}
}

static int rapl_read(struct jpu_sensor *s, const struct jpu_sense_ctx *ctx)
{
	const struct rapl_state *st = s->priv;
	size_t ok = 0;

	for (size_t i = 0; i < s->n_domains; i++)
		read_one(&s->domains[i], s->log);
	for (size_t i = 0; st && i < s->n_domains; i++)
		if (st->die[i].primary)
			weigh_pair(s, i);
	for (size_t i = 0; i < s->n_domains; i++)
		ok += s->domains[i].valid;
	return ok ? 0 : -EIO;
}

static void set_permission_diag(struct jpu_diag *diag, const char *id)
{
	diag->reason = JPU_REASON_PERMISSION;
	snprintf(diag->message, sizeof diag->message,
	         "rapl: %s/energy_uj is readable by root only (CVE-2020-8694). Let the "
	         "group " JPU_POWERCAP_GROUP " read it with the udev rule " JPU_UDEV_RULE
	         " (installed in share/jpu, data/ in the source): see " JPU_PERMISSIONS_DOC
	         "; or run jpud. Never chmod o+r.",
	         id);
}

static int rapl_probe(struct jpu_sensor *s, const struct jpu_probe_opts *o, struct jpu_diag *diag)
{
	struct rapl_zone_name *zones = NULL;
	size_t nz = 0, n_denied = 0;
	char denied_id[64] = "";
	int pc_fd, r;

	s->log = o->log;
	pc_fd = openat(o->sysfs_fd, "class/powercap", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pc_fd < 0) {
		r = -errno;
		diag->reason = r == -EACCES ? JPU_REASON_PERMISSION : JPU_REASON_ABSENT;
		snprintf(diag->message, sizeof diag->message,
		         "rapl: no powercap in sysfs (class/powercap: %s): the kernel has no "
		         "intel_rapl_msr driver loaded (try `modprobe intel_rapl_msr`) or this is "
		         "a virtual machine",
		         strerror(-r));
		return r == -EACCES ? r : -ENOENT;
	}
	r = list_zones(pc_fd, &zones, &nz);
	if (r < 0)
		goto out;

	for (size_t i = 0; i < nz; i++) {
		struct jpu_domain *d;
		char name[64];
		int zfd, efd, pkg, die;
		enum jpu_domain_kind kind;

		/* the symlink may vanish between readdir and open (hot unplug,
		 * module unload): skip that zone */
		zfd = openat(pc_fd, zones[i].id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (zfd < 0) {
			jpu_logf(o->log, JPU_LOG_INFO, "rapl: %s vanished: %s", zones[i].id,
			         strerror(errno));
			continue;
		}
		r = jpu_read_str_at(zfd, "name", name, sizeof name);
		if (r < 0 || name[0] == '\0') {
			jpu_logf(o->log, JPU_LOG_WARNING, "rapl: %s has no readable name, skipped",
			         zones[i].id);
			close(zfd);
			continue;
		}
		efd = jpu_open_at(zfd, "energy_uj");
		if (efd < 0) {
			if (efd == -EACCES || efd == -EPERM) {
				if (n_denied++ == 0)
					snprintf(denied_id, sizeof denied_id, "%s", zones[i].id);
			} else {
				jpu_logf(o->log, JPU_LOG_WARNING,
				         "rapl: %s (%s) has no energy_uj: %s, skipped", zones[i].id,
				         name, strerror(-efd));
			}
			close(zfd);
			continue;
		}
		d = jpu_sensor_add_domain(s);
		if (!d) {
			close(efd);
			close(zfd);
			r = -ENOMEM;
			goto out;
		}
		d->fd = efd;
		snprintf(d->id, sizeof d->id, "%s", zones[i].id);
		snprintf(d->name, sizeof d->name, "%s", name);
		kind = kind_of(name, &pkg, &die);
		d->kind = kind;
		d->package = pkg;
		d->die = die;
		if (kind != JPU_DOM_PACKAGE && kind != JPU_DOM_PSYS) {
			const struct jpu_domain *parent = find_parent(s, zones[i].id);

			if (parent) {
				d->package = parent->package;
				d->die = parent->die;
			} else {
				/* the parent was skipped (no energy_uj): its name
				 * still says which package this is */
				char path[80], pname[64];
				const char *colon = strrchr(zones[i].id, ':');

				snprintf(path, sizeof path, "%.*s/name", (int)(colon - zones[i].id),
				         zones[i].id);
				if (jpu_read_str_at(pc_fd, path, pname, sizeof pname) == 0 &&
				    kind_of(pname, &pkg, &die) == JPU_DOM_PACKAGE) {
					d->package = pkg;
					d->die = die;
				}
			}
		}
		d->has_energy = true;
		if (jpu_read_u64_at(zfd, "max_energy_range_uj", &d->max_energy_uj) < 0)
			d->max_energy_uj = 0;
		read_limit(zfd, d);
		close(zfd);
		read_one(d, o->log);
	}

	if (s->n_domains == 0) {
		if (n_denied) {
			set_permission_diag(diag, denied_id);
			r = -EACCES;
		} else {
			diag->reason = JPU_REASON_ABSENT;
			snprintf(diag->message, sizeof diag->message,
			         "rapl: no readable intel-rapl zone under class/powercap (load "
			         "intel_rapl_msr; virtual machines have none)");
			r = -ENOENT;
		}
		goto out;
	}
	if (n_denied)
		jpu_logf(o->log, JPU_LOG_WARNING,
		         "rapl: %zu zone(s) not readable (permission), starting with %s", n_denied,
		         denied_id);
	r = mark_duplicates(s, o->sysfs_fd);
	if (r == 0)
		r = (int)s->n_domains;
out:
	if (r < 0)
		jpu_sensor_free_domains(s);
	free(zones);
	close(pc_fd);
	return r;
}

static void rapl_close(struct jpu_sensor *s)
{
	struct rapl_state *st = s->priv;

	jpu_sensor_free_domains(s);
	if (st)
		free(st->die);
	free(st);
	s->priv = NULL;
}

const struct jpu_sensor_ops jpu_sensor_rapl = {
        .name = "rapl",
        .source = JPU_SRC_RAPL,
        .probe = rapl_probe,
        .read = rapl_read,
        .close = rapl_close,
};
