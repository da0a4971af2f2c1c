/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The state file: cumulative energy and CO2 kept across restarts.
 *
 * One record per line, integers in native units (no locale):
 *   jpu-state 3
 *   scope <cpu_uj> <dram_uj> <gpu_uj> <co2_ug>
 *   past <cpu_uj> <dram_uj> <gpu_uj> <co2_ug> <tags_folded>
 *   tag <cpu_uj> <dram_uj> <gpu_uj> <co2_ug> <seen_usec> <tag>
 *   key <cpu_uj> <dram_uj> <gpu_uj> <co2_ug> <seen_usec> <key>
 * (key lines, an added scope's totals, only in version 4, written only
 * when there are any). <tag> is %XX-escaped (bytes up to the space, DEL and '%'): a tag may
 * hold any byte but NUL, a newline included. Version 2 files (no past
 * line, no seen_usec, raw tags) are still read.
 *
 * Why each rule:
 * - one engine per file: an exclusive flock on <file>.lock, taken before
 *   the file is read and held for the engine's life. A second engine gets
 *   -EBUSY: two engines measuring the same scope would each add the same
 *   energy, and the last writer would drop the other's.
 * - the user's totals are never destroyed: a file that does not parse is
 *   moved aside to <file>.corrupt-<UTC time> and logged at error level;
 *   one that cannot be read or moved stops the engine from starting.
 * - durable: unique temporary name opened O_EXCL|O_NOFOLLOW (no symlink
 *   games, no two writers on one temporary file), fsync, rename, fsync of
 *   the directory, so that after a crash the file is the old or the new one.
 * - bounded: tags dormant (untracked, or their tree dead) for longer than
 *   JPU_STATE_DORMANT_USEC, or beyond JPU_STATE_MAX_DORMANT of them, are
 *   folded into the past totals; jpu_untrack folds at once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "state.h"

static int path_plus(char *buf, size_t size, const char *base, const char *suffix)
{
	int n = snprintf(buf, size, "%s%s", base, suffix);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The directory of path ("." for a bare name), for fsync and the
 * temporary-file sweep. */
static int dir_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	if (!slash)
		return path_plus(buf, size, ".", "");
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(buf, path, len);
	buf[len] = '\0';
	return 0;
}

static int fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd, r = dir_of(path, dir, sizeof dir);

	if (r < 0)
		return r;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* some file systems cannot sync a directory (EINVAL): nothing more
	 * can be done there */
	r = fsync(fd) < 0 && errno != EINVAL ? -errno : 0;
	close(fd);
	return r;
}

/* ---- parsing ------------------------------------------------------------ */

static int parse_totals(const char **p, const char *end, struct jpu_energy *en,
                        struct jpu_co2_acc *co2)
{
	uint64_t c, d, g, ug;

	if (jpu_next_u64(p, end, &c) < 0 || jpu_next_u64(p, end, &d) < 0 ||
	    jpu_next_u64(p, end, &g) < 0 || jpu_next_u64(p, end, &ug) < 0)
		return -EBADMSG;
	memset(en, 0, sizeof *en);
	memset(co2, 0, sizeof *co2);
	en->cpu_uj = c;
	en->dram_uj = d;
	en->gpu_uj = g;
	co2->co2_ug = ug;
	return 0;
}

static bool needs_escape(unsigned char c)
{
	return c <= ' ' || c == 0x7f || c == '%';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the tag field [q, eol) into out (NUL-terminated). Version 3
 * escapes with %XX, upper-case, only the bytes that need it: one spelling
 * per tag, so two lines cannot name one tag differently. */
static int parse_tag(const char *q, const char *eol, bool escaped, char *out, size_t size)
{
	size_t len = 0;

	if (q >= eol)
		return -EBADMSG;
	while (q < eol) {
		unsigned char c = (unsigned char)*q++;

		if (c == '\0')
			return -EBADMSG;
		if (escaped && needs_escape(c)) {
			int hi, lo;

			if (c != '%' || eol - q < 2)
				return -EBADMSG;
			hi = hex_digit(q[0]);
			lo = hex_digit(q[1]);
			q += 2;
			if (hi < 0 || lo < 0)
				return -EBADMSG;
			c = (unsigned char)(hi << 4 | lo);
			if (c == '\0' || !needs_escape(c))
				return -EBADMSG;
		}
		if (len + 1 >= size)
			return -EBADMSG;
		out[len++] = (char)c;
	}
	out[len] = '\0';
	return 0;
}

static int by_tag(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A tag twice makes the file ambiguous. Sorted, not compared pairwise: a
 * 4 MiB file holds tens of thousands of tags. */
static bool has_duplicate(const void *recs, size_t stride, size_t n, int *ret_r)
{
	const char **names;
	bool dup = false;

	if (n < 2)
		return false;
	names = malloc(n * sizeof *names);
	if (!names) {
		*ret_r = -ENOMEM;
		return true;
	}
	/* the name is the first member of both records (tag, key) */
	for (size_t i = 0; i < n; i++)
		names[i] = (const char *)recs + i * stride;
	qsort(names, n, sizeof *names, by_tag);
	for (size_t i = 1; i < n && !dup; i++)
		dup = strcmp(names[i - 1], names[i]) == 0;
	free(names);
	return dup;
}

int jpu_state_parse(struct jpu_engine *e, const char *buf, size_t n)
{
	const char *p = buf, *end = buf + n;
	struct jpu_energy energy = {0}, past = {0};
	struct jpu_co2_acc co2 = {0}, past_co2 = {0};
	uint64_t past_tags = 0;
	struct jpu_tracked *tags = NULL;
	struct jpu_xscope *keys = NULL, **made = NULL, **xall;
	size_t n_tags = 0, n_keys = 0;
	bool have_scope = false, have_past = false, v3, v4;
	int r = -EBADMSG;

	/* parse everything first: a bad file changes nothing */
	if (n < 12 || (memcmp(p, "jpu-state 2\n", 12) != 0 && memcmp(p, "jpu-state 3\n", 12) != 0 &&
	               memcmp(p, "jpu-state 4\n", 12) != 0))
		return -EBADMSG;
	v4 = p[10] == '4';
	v3 = p[10] == '3' || v4;
	p += 12;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t line = eol ? (size_t)(eol - p) : 0;

		if (!eol)
			goto fail;
		if (line > 6 && memcmp(p, "scope ", 6) == 0 && !have_scope) {
			const char *q = p + 6;

			if (parse_totals(&q, eol, &energy, &co2) < 0 || q != eol)
				goto fail;
			have_scope = true;
		} else if (v3 && line > 5 && memcmp(p, "past ", 5) == 0 && !have_past) {
			const char *q = p + 5;

			if (parse_totals(&q, eol, &past, &past_co2) < 0 ||
			    jpu_next_u64(&q, eol, &past_tags) < 0 || q != eol)
				goto fail;
			have_past = true;
		} else if (line > 4 && memcmp(p, "tag ", 4) == 0) {
			const char *q = p + 4;
			struct jpu_tracked *arr, t;

			memset(&t, 0, sizeof t);
			if (parse_totals(&q, eol, &t.energy, &t.co2) < 0 ||
			    (v3 && jpu_next_u64(&q, eol, &t.seen_usec) < 0) || q >= eol ||
			    *q != ' ' || parse_tag(q + 1, eol, v3, t.tag, sizeof t.tag) < 0)
				goto fail;
			arr = realloc(tags, (n_tags + 1) * sizeof *arr);
			if (!arr) {
				r = -ENOMEM;
				goto fail;
			}
			tags = arr;
			tags[n_tags++] = t;
		} else if (v4 && line > 4 && memcmp(p, "key ", 4) == 0) {
			/* an added scope's totals (jpu_scope_add) */
			const char *q = p + 4;
			struct jpu_xscope *arr, *k;

			arr = realloc(keys, (n_keys + 1) * sizeof *arr);
			if (!arr) {
				r = -ENOMEM;
				goto fail;
			}
			keys = arr;
			k = &keys[n_keys];
			memset(k, 0, sizeof *k);
			if (parse_totals(&q, eol, &k->energy, &k->co2) < 0 ||
			    jpu_next_u64(&q, eol, &k->seen_usec) < 0 || q >= eol || *q != ' ' ||
			    parse_tag(q + 1, eol, true, k->key, sizeof k->key) < 0 ||
			    !jpu_scope_key_valid(k->key))
				goto fail;
			n_keys++;
		} else {
			goto fail;
		}
		p = eol + 1;
	}
	if (!have_scope || has_duplicate(tags, sizeof *tags, n_tags, &r) ||
	    has_duplicate(keys, sizeof *keys, n_keys, &r))
		goto fail;
	/* restored keys: never in a tick until jpu_scope_add takes the key;
	 * made whole before anything of e changes */
	if (n_keys) {
		made = calloc(n_keys, sizeof *made);
		xall = realloc(e->xscopes, (e->n_xscopes + n_keys) * sizeof *xall);
		if (xall)
			e->xscopes = xall;
		for (size_t i = 0; made && xall && i < n_keys; i++) {
			made[i] = malloc(sizeof **made);
			if (!made[i])
				break;
			*made[i] = keys[i];
			made[i]->cg = (struct jpu_cgroup_files)JPU_CGROUP_FILES_INIT;
			made[i]->procfs_fd = -1;
			made[i]->restored = true;
		}
		if (!made || !xall || !made[n_keys - 1]) {
			for (size_t i = 0; made && i < n_keys; i++)
				free(made[i]);
			r = -ENOMEM;
			goto fail;
		}
	}
	{
		struct jpu_tracked *all =
		        realloc(e->tracked, (e->n_tracked + n_tags) * sizeof *all);

		if (!all && e->n_tracked + n_tags > 0) {
			r = -ENOMEM;
			goto fail;
		}
		e->tracked = all;
		if (n_tags)
			memcpy(&e->tracked[e->n_tracked], tags, n_tags * sizeof *tags);
		e->n_tracked += n_tags;
	}
	e->energy = energy;
	e->co2 = co2;
	e->past_energy = past;
	e->past_co2 = past_co2;
	e->past_tags = past_tags;
	for (size_t i = 0; i < n_keys; i++)
		e->xscopes[e->n_xscopes++] = made[i];
	free(made);
	free(tags);
	free(keys);
	return 0;
fail:
	free(made);
	free(tags);
	free(keys);
	return r;
}

/* ---- opening: lock, sweep, load, or move aside --------------------------- */

/* Temporary files of a writer that died between create and rename. Only
 * the lock holder writes, so any that exist now are stale. */
static void sweep_temps(struct jpu_engine *e)
{
	char dir[PATH_MAX], prefix[NAME_MAX + 8];
	const char *slash = strrchr(e->state_file, '/');
	const char *base = slash ? slash + 1 : e->state_file;
	struct dirent *de;
	size_t plen;
	DIR *d;
	int fd;

	if (dir_of(e->state_file, dir, sizeof dir) < 0 ||
	    path_plus(prefix, sizeof prefix, base, ".tmp.") < 0)
		return;
	plen = strlen(prefix);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (strncmp(de->d_name, prefix, plen) == 0 &&
		    unlinkat(dirfd(d), de->d_name, 0) == 0)
			jpu_logf(&e->log, JPU_LOG_INFO, "state file %s: removed stale %s/%s",
			         e->state_file, dir, de->d_name);
	closedir(d);
}

/* Move a file that cannot be loaded to <file>.corrupt-<UTC time>[-N],
 * never over an existing file. */
static int move_aside(struct jpu_engine *e, int why)
{
	char stamp[32], dst[PATH_MAX];
	time_t now = (time_t)(e->clock_real() / JPU_USEC_PER_SEC);
	struct tm tm;
	int r = -EEXIST;

	if (!gmtime_r(&now, &tm) || strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) == 0)
		return -EINVAL;
	for (unsigned i = 0; i < 100 && r == -EEXIST; i++) {
		char suffix[48];

		snprintf(suffix, sizeof suffix, i ? ".corrupt-%s-%u" : ".corrupt-%s", stamp, i);
		r = path_plus(dst, sizeof dst, e->state_file, suffix);
		if (r < 0)
			break;
		r = renameat2(AT_FDCWD, e->state_file, AT_FDCWD, dst, RENAME_NOREPLACE) < 0 ? -errno
		                                                                            : 0;
		if (r == -EINVAL || r == -ENOSYS) {
			/* no RENAME_NOREPLACE on this file system: link
			 * fails on an existing name just as well */
			r = link(e->state_file, dst) < 0 ? -errno : 0;
			if (r == 0 && unlink(e->state_file) < 0)
				r = -errno;
		}
	}
	if (r < 0) {
		jpu_logf(&e->log, JPU_LOG_ERR,
		         "state file %s cannot be loaded (%s) and cannot be moved aside: %s; "
		         "refusing to start rather than overwrite it. Move or repair it by hand",
		         e->state_file, strerror(-why), strerror(-r));
		return r;
	}
	fsync_dir(e->state_file);
	jpu_logf(&e->log, JPU_LOG_ERR,
	         "STATE FILE %s CANNOT BE LOADED (%s): moved it to %s, kept as it was; "
	         "cumulative energy and CO2 start from zero. Restore the totals by fixing "
	         "that file and moving it back while no engine runs",
	         e->state_file,
	         why == -EFBIG ? "larger than any state file the engine writes"
	                       : "not a state file this engine can read",
	         dst);
	return 0;
}

static int load(struct jpu_engine *e)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd, r;

	fd = open(e->state_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	if (st.st_size >= (off_t)JPU_STATE_MAX_BYTES) {
		r = -EFBIG;
		goto out;
	}
	/* one byte more than the size: a file that grew reads as too large */
	buf = malloc((size_t)st.st_size + 2);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	n = jpu_pread_all(fd, buf, (size_t)st.st_size + 2);
	r = n < 0 ? (int)n : jpu_state_parse(e, buf, (size_t)n);
out:
	free(buf);
	close(fd);
	return r;
}

int jpu_state_open(struct jpu_engine *e)
{
	char lock[PATH_MAX];
	int fd, r;

	if (!e->state_file)
		return 0;
	r = path_plus(lock, sizeof lock, e->state_file, ".lock");
	if (r < 0) {
		jpu_logf(&e->log, JPU_LOG_ERR, "state file %s: path too long", e->state_file);
		return r;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		jpu_logf(&e->log, JPU_LOG_ERR, "state file %s: cannot open its lock %s: %s",
		         e->state_file, lock, strerror(-r));
		return r;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		jpu_logf(&e->log, JPU_LOG_ERR,
		         r == -EBUSY ? "state file %s is in use by another engine (%s is locked); "
		                       "give each engine a state file of its own"
		                     : "state file %s: cannot lock %s",
		         e->state_file, lock);
		return r;
	}
	e->state_lock_fd = fd;
	sweep_temps(e);
	r = load(e);
	if (r == -EBADMSG || r == -EFBIG)
		r = move_aside(e, r);
	else if (r < 0)
		jpu_logf(&e->log, JPU_LOG_ERR,
		         "state file %s cannot be read: %s; refusing to start rather than "
		         "overwrite it",
		         e->state_file, strerror(-r));
	return r;
}

void jpu_state_close(struct jpu_engine *e)
{
	if (e->state_lock_fd >= 0)
		close(e->state_lock_fd); /* releases the flock */
	e->state_lock_fd = -1;
}

/* ---- folding --------------------------------------------------------------- */

void jpu_state_fold_tag(struct jpu_engine *e, const struct jpu_tracked *t)
{
	e->past_energy.cpu_uj += t->energy.cpu_uj;
	e->past_energy.dram_uj += t->energy.dram_uj;
	e->past_energy.gpu_uj += t->energy.gpu_uj;
	e->past_co2.co2_ug += t->co2.co2_ug;
	e->past_tags++;
}

void jpu_state_fold_scope(struct jpu_engine *e, const struct jpu_xscope *x)
{
	e->past_energy.cpu_uj += x->energy.cpu_uj;
	e->past_energy.dram_uj += x->energy.dram_uj;
	e->past_energy.gpu_uj += x->energy.gpu_uj;
	e->past_co2.co2_ug += x->co2.co2_ug;
	e->past_tags++;
}

static int by_key_seen(const void *a, const void *b)
{
	const struct jpu_xscope *x = *(const struct jpu_xscope *const *)a;
	const struct jpu_xscope *y = *(const struct jpu_xscope *const *)b;

	return x->seen_usec < y->seen_usec ? -1 : x->seen_usec > y->seen_usec;
}

/* Keys restored from the file and not added again fold like dormant tags:
 * after JPU_STATE_DORMANT_USEC, or the longest-dormant beyond
 * JPU_STATE_MAX_DORMANT. An added scope is never folded while added (its
 * caller removes it). Caller holds lock; the tick frees what is marked. */
static void fold_dormant_keys(struct jpu_engine *e, uint64_t now)
{
	struct jpu_xscope **old;
	size_t k = 0;

	for (size_t i = 0; i < e->n_xscopes; i++) {
		struct jpu_xscope *x = e->xscopes[i];

		if (!x->restored || x->removed)
			continue;
		if (x->seen_usec > now)
			x->seen_usec = now;
		if (now - x->seen_usec > JPU_STATE_DORMANT_USEC) {
			jpu_state_fold_scope(e, x);
			x->restored = false;
			x->removed = true;
		} else {
			k++;
		}
	}
	if (k <= JPU_STATE_MAX_DORMANT)
		return;
	old = malloc(k * sizeof *old);
	if (!old)
		return;
	k = 0;
	for (size_t i = 0; i < e->n_xscopes; i++)
		if (e->xscopes[i]->restored && !e->xscopes[i]->removed)
			old[k++] = e->xscopes[i];
	qsort(old, k, sizeof *old, by_key_seen);
	for (size_t i = 0; i < k - JPU_STATE_MAX_DORMANT; i++) {
		jpu_state_fold_scope(e, old[i]);
		old[i]->restored = false;
		old[i]->removed = true;
	}
	free(old);
}

/* Restored from the state file and not tracked again (gen 0), or its
 * process gone. */
static bool dormant(const struct jpu_tracked *t)
{
	return t->gen == 0 || !t->alive;
}

static int by_seen(const void *a, const void *b)
{
	const struct jpu_tracked *x = *(const struct jpu_tracked *const *)a;
	const struct jpu_tracked *y = *(const struct jpu_tracked *const *)b;

	return x->seen_usec < y->seen_usec ? -1 : x->seen_usec > y->seen_usec;
}

/* Fold the tags dormant for too long, then the longest-dormant ones
 * beyond JPU_STATE_MAX_DORMANT. Caller holds lock (the array); the sampler
 * frees the tree of a folded tag at its next tick (tracked.c). Tags keep
 * their order. */
static void fold_dormant(struct jpu_engine *e, uint64_t now)
{
	struct jpu_tracked **old = NULL;
	size_t n_dormant = 0, w = 0;

	for (size_t i = 0; i < e->n_tracked; i++) {
		struct jpu_tracked *t = &e->tracked[i];

		/* a new tag, or one from a version-2 file: seen now */
		if (!dormant(t) || t->seen_usec == 0 || t->seen_usec > now)
			t->seen_usec = now;
		t->fold = dormant(t) && now - t->seen_usec > JPU_STATE_DORMANT_USEC;
		n_dormant += dormant(t) && !t->fold;
	}
	if (n_dormant > JPU_STATE_MAX_DORMANT)
		old = malloc(n_dormant * sizeof *old);
	if (old) {
		size_t k = 0;

		for (size_t i = 0; i < e->n_tracked; i++)
			if (dormant(&e->tracked[i]) && !e->tracked[i].fold)
				old[k++] = &e->tracked[i];
		qsort(old, k, sizeof *old, by_seen);
		for (size_t i = 0; i < k - JPU_STATE_MAX_DORMANT; i++)
			old[i]->fold = true;
		free(old);
	}
	for (size_t i = 0; i < e->n_tracked; i++) {
		struct jpu_tracked *t = &e->tracked[i];

		if (t->fold) {
			jpu_state_fold_tag(e, t);
		} else {
			e->tracked[w++] = *t;
		}
	}
	e->n_tracked = w;
}

/* ---- saving ---------------------------------------------------------------- */

static void put_tag(struct jpu_buf *b, const char *tag)
{
	for (const unsigned char *p = (const unsigned char *)tag; *p; p++)
		if (needs_escape(*p))
			jpu_buf_printf(b, "%%%02X", *p);
		else
			jpu_buf_putn(b, (const char *)p, 1);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_durably(struct jpu_engine *e, const char *text, size_t len)
{
	char tmp[PATH_MAX];
	int fd = -1, r = 0;

	/* unique per process and write; O_EXCL makes a leftover of the
	 * same name (pid reuse after a crash) a retry, never a shared file */
	for (unsigned i = 0; i < 16 && fd < 0; i++) {
		char suffix[48];

		snprintf(suffix, sizeof suffix, ".tmp.%ld.%u", (long)getpid(), e->state_tmp_seq++);
		r = path_plus(tmp, sizeof tmp, e->state_file, suffix);
		if (r < 0)
			return r;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;
	r = write_all(fd, text, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, e->state_file) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	/* the rename itself is durable only once the directory is */
	return fsync_dir(e->state_file);
}

int jpu_state_save(struct jpu_engine *e)
{
	struct jpu_buf b = {0};
	char *text = NULL;
	int r;

	bool keys = false;

	pthread_mutex_lock(&e->lock);
	fold_dormant(e, e->clock_real());
	fold_dormant_keys(e, e->clock_real());
	if (!e->state_file || e->state_lock_fd < 0) {
		pthread_mutex_unlock(&e->lock);
		return 0;
	}
	/* version 4 only when it holds key lines: a file without them stays
	 * readable by an engine that knows version 3 */
	for (size_t i = 0; i < e->n_xscopes && !keys; i++)
		keys = !e->xscopes[i]->removed;
	jpu_buf_printf(&b,
	               "jpu-state %d\nscope %llu %llu %llu %llu\npast %llu %llu %llu %llu %llu\n",
	               keys ? 4 : 3, (unsigned long long)e->energy.cpu_uj,
	               (unsigned long long)e->energy.dram_uj, (unsigned long long)e->energy.gpu_uj,
	               (unsigned long long)e->co2.co2_ug, (unsigned long long)e->past_energy.cpu_uj,
	               (unsigned long long)e->past_energy.dram_uj,
	               (unsigned long long)e->past_energy.gpu_uj,
	               (unsigned long long)e->past_co2.co2_ug, (unsigned long long)e->past_tags);
	for (size_t i = 0; i < e->n_tracked; i++) {
		const struct jpu_tracked *t = &e->tracked[i];

		jpu_buf_printf(
		        &b, "tag %llu %llu %llu %llu %llu ", (unsigned long long)t->energy.cpu_uj,
		        (unsigned long long)t->energy.dram_uj, (unsigned long long)t->energy.gpu_uj,
		        (unsigned long long)t->co2.co2_ug, (unsigned long long)t->seen_usec);
		put_tag(&b, t->tag);
		jpu_buf_puts(&b, "\n");
	}
	for (size_t i = 0; i < e->n_xscopes; i++) {
		const struct jpu_xscope *x = e->xscopes[i];

		if (x->removed)
			continue;
		/* a key never needs escaping (its alphabet is closed) */
		jpu_buf_printf(
		        &b, "key %llu %llu %llu %llu %llu %s\n",
		        (unsigned long long)x->energy.cpu_uj, (unsigned long long)x->energy.dram_uj,
		        (unsigned long long)x->energy.gpu_uj, (unsigned long long)x->co2.co2_ug,
		        (unsigned long long)x->seen_usec, x->key);
	}
	pthread_mutex_unlock(&e->lock);
	r = jpu_buf_finish(&b, &text);
	if (r < 0)
		return r;
	/* never write what the next start would refuse as too large */
	r = strlen(text) >= JPU_STATE_MAX_BYTES ? -EFBIG : write_durably(e, text, strlen(text));
	free(text);
	return r;
}
