/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A data-driven backend for tests of the layers above the sensors. It is
 * probed only when asked for by name (opts.sensors = "fake").
 *
 * It reads <sysfs>/fake/domains at probe and again at every read(), so a
 * test rewrites the file between samples. One domain per line:
 *
 *     # comment
 *     KIND NAME [KEY=VALUE ...] [FLAG ...]
 *
 *  KIND   package | dram | psys | core | uncore | gpu | other
 *  NAME   1-63 characters without spaces, unique in the file; read()
 *         matches lines to domains by name
 *  KEY    energy_uj=N  cumulative energy (µJ)       at least one of
 *         power_uw=N   instantaneous power (µW)     these two
 *         max=N        wrap range of the counter (µJ, max_energy_uj)
 *         limit=N      power limit (µW)
 *         package=N    package index; die=N die index
 *  FLAG   permission   at probe: the backend fails with -EACCES (like a
 *                      root-only energy_uj); at read: the domain is invalid
 *         error        at read (and probe): the domain is invalid
 *
 * N is an unsigned decimal (strict: no sign, no spaces, no overflow).
 * Example:
 *     package package-0 energy_uj=1000000 max=262143328850 limit=125000000 package=0
 *     dram dram energy_uj=200000 max=65532610987 package=0
 *     gpu gpu0 power_uw=75000000 limit=300000000
 * A line that does not parse fails the probe with -EINVAL naming the line,
 * and fails a read (nothing read: the file is being rewritten badly).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../internal.h"

#define FAKE_PATH     "fake/domains"
#define FAKE_MAX_FILE (64 * 1024)

static const struct {
	const char *word;
	enum jpu_domain_kind kind;
} fake_kinds[] = {
        {"package", JPU_DOM_PACKAGE}, {"dram", JPU_DOM_DRAM},     {"psys", JPU_DOM_PSYS},
        {"core", JPU_DOM_CORE},       {"uncore", JPU_DOM_UNCORE}, {"gpu", JPU_DOM_GPU},
        {"other", JPU_DOM_OTHER},
};

static bool word_is(const char *w, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(w, lit, n) == 0;
}

/* A small non-negative int (package/die index). */
static int parse_index(const char *s, size_t n, int *ret)
{
	uint64_t v;
	int r = jpu_parse_u64(s, n, &v);

	if (r < 0)
		return r;
	if (v > 4096)
		return -ERANGE;
	*ret = (int)v;
	return 0;
}

int jpu_fake_parse_line(const char *s, size_t len, struct jpu_fake_line *ret)
{
	struct jpu_fake_line l;
	const char *p = s, *end = s + len;
	unsigned field = 0;

	memset(&l, 0, sizeof l);
	l.package = -1;
	l.die = -1;
	for (;;) {
		const char *w, *eq;
		size_t n;
		int r = 0;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end || (*p == '#' && field == 0))
			break;
		w = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		n = (size_t)(p - w);
		/* a control character (a NUL, a stray \r) makes the line garbage */
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)w[i] < 0x20 || w[i] == 0x7f)
				return -EINVAL;
		if (field == 0) {
			size_t k;

			for (k = 0; k < JPU_ARRAY_SIZE(fake_kinds); k++)
				if (word_is(w, n, fake_kinds[k].word))
					break;
			if (k == JPU_ARRAY_SIZE(fake_kinds))
				return -EINVAL;
			l.kind = fake_kinds[k].kind;
		} else if (field == 1) {
			if (n >= sizeof l.name)
				return -EINVAL;
			memcpy(l.name, w, n);
			l.name[n] = '\0';
		} else if (word_is(w, n, "permission")) {
			l.error = JPU_FAKE_PERMISSION;
		} else if (word_is(w, n, "error")) {
			if (l.error == JPU_FAKE_OK)
				l.error = JPU_FAKE_ERROR;
		} else if ((eq = memchr(w, '=', n)) != NULL) {
			size_t kl = (size_t)(eq - w), vl = n - kl - 1;
			const char *v = eq + 1;

			/* jpu_parse_u64 allows leading blanks and a newline: a value
			 * here is a word, so insist on digits only */
			if (vl == 0)
				return -EINVAL;
			for (size_t i = 0; i < vl; i++)
				if (v[i] < '0' || v[i] > '9')
					return -EINVAL;
			if (word_is(w, kl, "energy_uj")) {
				r = jpu_parse_u64(v, vl, &l.energy_uj);
				l.has_energy = true;
			} else if (word_is(w, kl, "power_uw")) {
				r = jpu_parse_u64(v, vl, &l.power_uw);
				l.has_power = true;
			} else if (word_is(w, kl, "max")) {
				r = jpu_parse_u64(v, vl, &l.max_energy_uj);
			} else if (word_is(w, kl, "limit")) {
				r = jpu_parse_u64(v, vl, &l.limit_uw);
				l.has_limit = true;
			} else if (word_is(w, kl, "package")) {
				r = parse_index(v, vl, &l.package);
			} else if (word_is(w, kl, "die")) {
				r = parse_index(v, vl, &l.die);
			} else {
				return -EINVAL;
			}
			if (r < 0)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
		field++;
	}
	if (field == 0)
		return 0;
	if (field < 2 || (!l.has_energy && !l.has_power))
		return -EINVAL;
	*ret = l;
	return 1;
}

/* Calls fn for every domain line of the file; stops at the first error.
 * Returns the count of domain lines, or -errno with *ret_line set to the
 * 1-based line that failed (0 when the file could not be read). */
typedef int (*fake_line_fn)(const struct jpu_fake_line *l, void *userdata);

static int fake_each(int sysfs_fd, fake_line_fn fn, void *userdata, unsigned *ret_line)
{
	char *buf = malloc(FAKE_MAX_FILE);
	const char *p, *end;
	unsigned lineno = 0;
	ssize_t n;
	int r = 0, count = 0;

	*ret_line = 0;
	if (!buf)
		return -ENOMEM;
	n = jpu_read_at(sysfs_fd, FAKE_PATH, buf, FAKE_MAX_FILE);
	if (n < 0) {
		r = (int)n;
		goto out;
	}
	p = buf;
	end = buf + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		struct jpu_fake_line l;

		lineno++;
		r = jpu_fake_parse_line(p, (size_t)(le - p), &l);
		if (r < 0) {
			*ret_line = lineno;
			goto out;
		}
		if (r == 1) {
			r = fn(&l, userdata);
			if (r < 0) {
				*ret_line = lineno;
				goto out;
			}
			count++;
		}
		p = nl ? nl + 1 : end;
	}
	r = count;
out:
	free(buf);
	return r;
}

struct probe_ctx {
	struct jpu_sensor *s;
	bool denied;
	char denied_name[64];
};

static int probe_line(const struct jpu_fake_line *l, void *userdata)
{
	struct probe_ctx *c = userdata;
	struct jpu_domain *d;

	for (size_t i = 0; i < c->s->n_domains; i++)
		if (strcmp(c->s->domains[i].name, l->name) == 0)
			return -EEXIST;
	if (l->error == JPU_FAKE_PERMISSION && !c->denied) {
		c->denied = true;
		snprintf(c->denied_name, sizeof c->denied_name, "%s", l->name);
	}
	d = jpu_sensor_add_domain(c->s);
	if (!d)
		return -ENOMEM;
	snprintf(d->name, sizeof d->name, "%s", l->name);
	snprintf(d->id, sizeof d->id, "fake:%s", l->name);
	d->kind = l->kind;
	d->package = l->package;
	d->die = l->die;
	d->has_energy = l->has_energy;
	d->has_power = l->has_power;
	d->max_energy_uj = l->max_energy_uj;
	d->has_limit = l->has_limit;
	d->limit_uw = l->limit_uw;
	return 0;
}

static void apply(struct jpu_domain *d, const struct jpu_fake_line *l)
{
	/* a domain keeps what it measured at probe: a line that lost it is
	 * a broken read of that domain */
	if (l->error != JPU_FAKE_OK || (d->has_energy && !l->has_energy) ||
	    (d->has_power && !l->has_power)) {
		d->valid = false;
		return;
	}
	d->energy_uj = l->energy_uj;
	d->power_uw = l->power_uw;
	d->valid = true;
}

static int read_line(const struct jpu_fake_line *l, void *userdata)
{
	struct jpu_sensor *s = userdata;

	for (size_t i = 0; i < s->n_domains; i++) {
		if (strcmp(s->domains[i].name, l->name) == 0) {
			/* priv marks "seen in this read" */
			s->domains[i].priv = 1;
			apply(&s->domains[i], l);
			break;
		}
	}
	return 0;
}

static int fake_read(struct jpu_sensor *s, const struct jpu_sense_ctx *ctx)
{
	unsigned line;
	size_t ok = 0;
	int r;

	for (size_t i = 0; i < s->n_domains; i++)
		s->domains[i].priv = 0;
	r = fake_each(s->priv ? *(const int *)s->priv : -1, read_line, s, &line);
	if (r < 0) {
		jpu_logf(s->log, JPU_LOG_WARNING, "fake: %s line %u: %s", FAKE_PATH, line,
		         strerror(-r));
		for (size_t i = 0; i < s->n_domains; i++)
			s->domains[i].valid = false;
		return r;
	}
	for (size_t i = 0; i < s->n_domains; i++) {
		/* a domain whose line was removed reads as gone */
		if (!s->domains[i].priv)
			s->domains[i].valid = false;
		s->domains[i].priv = 0;
		ok += s->domains[i].valid;
	}
	return ok ? 0 : -EIO;
}

static void fake_close(struct jpu_sensor *s)
{
	jpu_sensor_free_domains(s);
	if (s->priv)
		close(*(int *)s->priv);
	free(s->priv);
	s->priv = NULL;
}

static int fake_probe(struct jpu_sensor *s, const struct jpu_probe_opts *o, struct jpu_diag *diag)
{
	struct probe_ctx c = {.s = s};
	unsigned line;
	int *fdp, r;

	s->log = o->log;
	r = fake_each(o->sysfs_fd, probe_line, &c, &line);
	if (r < 0) {
		if (line == 0) {
			diag->reason = r == -ENOENT ? JPU_REASON_ABSENT : JPU_REASON_ERROR;
			snprintf(diag->message, sizeof diag->message,
			         "fake: cannot read %s under the sysfs root: %s", FAKE_PATH,
			         strerror(-r));
		} else {
			diag->reason = JPU_REASON_ERROR;
			snprintf(diag->message, sizeof diag->message,
			         "fake: %s line %u: %s (see the format in lib/sensors/fake.c)",
			         FAKE_PATH, line,
			         r == -EEXIST ? "duplicate domain name" : "cannot parse");
			r = -EINVAL;
		}
		goto fail;
	}
	if (r == 0) {
		diag->reason = JPU_REASON_ABSENT;
		snprintf(diag->message, sizeof diag->message, "fake: %s lists no domain",
		         FAKE_PATH);
		r = -ENOENT;
		goto fail;
	}
	if (c.denied) {
		diag->reason = JPU_REASON_PERMISSION;
		snprintf(diag->message, sizeof diag->message,
		         "fake: %s is not readable (permission injected by the test); grant "
		         "read access to its group or run jpud",
		         c.denied_name);
		r = -EACCES;
		goto fail;
	}
	/* read() re-opens the file relative to the root: keep our own copy
	 * of the root fd, closed by fake_close */
	fdp = malloc(sizeof *fdp);
	if (!fdp) {
		r = -ENOMEM;
		goto fail;
	}
	*fdp = fcntl(o->sysfs_fd, F_DUPFD_CLOEXEC, 3);
	if (*fdp < 0) {
		r = -errno;
		free(fdp);
		goto fail;
	}
	s->priv = fdp;
	fake_read(s, NULL);
	return (int)s->n_domains;
fail:
	jpu_sensor_free_domains(s);
	return r;
}

const struct jpu_sensor_ops jpu_sensor_fake = {
        .name = "fake",
        .source = JPU_SRC_FAKE,
        .probe = fake_probe,
        .read = fake_read,
        .close = fake_close,
};
