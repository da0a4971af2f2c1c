/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * /proc scanning: host CPU times, memory, and the CPU time and RSS of a
 * process tree or of a user, made monotonic across process exits.
 *
 * Cost model (DESIGN "Scopes", acceptance benchmark bench/bench_scope.c):
 * a tick must not re-read every process on the machine. The process table
 * (struct jpu_proctab) does a getdents() pass over /proc and reads
 * /proc/PID/stat only for PIDs it has not seen, caching what never changes
 * (ppid until reparenting, starttime, uid). Only members of a tracked tree or
 * user get their stat re-read each tick. Where the kernel has
 * /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN, Documentation/
 * filesystems/proc.rst) a tree finds its children there and needs no pass.
 * A tree without the children files needs the pass every tick; a user summed
 * from /proc needs it only to discover its new processes, so the pass runs
 * for it every USER_SCAN_TICKS ticks and at most SCAN_DUTY_PCT of a core
 * (see "lazy scans" below): O(the user's processes) per tick, the machine
 * only amortised.
 *
 * Accounting: the time of a set of processes is
 *   carried + sum over live members of (utime + stime + cutime + cstime).
 * When a member exits and a live member reaps it, the kernel adds its
 * utime+stime+cutime+cstime to the reaper's cutime/cstime
 * (kernel/exit.c, wait_task_zombie), so the sum is continuous. When nobody
 * inside the set reaps it (orphaned to init, the root itself, a parent that
 * ignores SIGCHLD and so auto-reaps) the shortfall is moved to `carried`.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define PROC_STAT_MAX (1024 * 1024) /* /proc/stat on a many-CPU host */
#define PID_STAT_BUF  1024          /* one /proc/PID/stat line */
#define DENTS_BUF     32768
#define CHILDREN_BUF  8192
#define PROC_MAGIC    0x9fa0 /* PROC_SUPER_MAGIC, include/uapi/linux/magic.h */
/* Members of a tree or user keep their /proc/PID/stat open (a pread per
 * tick instead of openat + pread + close) up to this many per table: the
 * Jupyter server around us needs its fds too. */
#define MEMBER_FD_BUDGET 256
/* A user summed from /proc discovers processes that are not children of its
 * members (a new login, a cron job) through the global pass, run every this
 * many ticks ... */
#define USER_SCAN_TICKS 10
/* ... and, on a real /proc, no more often than it keeps a core this busy
 * (a pass over 10,000 processes costs milliseconds) */
#define SCAN_DUTY_PCT 1

long jpu_clk_tck(void)
{
	static long tck;

	if (tck <= 0) {
		long v = sysconf(_SC_CLK_TCK);

		/* USER_HZ is 100 on every Linux architecture we know of */
		tck = v > 0 ? v : 100;
	}
	return tck;
}

static long page_size(void)
{
	long v = sysconf(_SC_PAGESIZE);

	return v > 0 ? v : 4096;
}

/* ---- host files --------------------------------------------------------- */

/* Read a whole procfs file into a malloc'd buffer, growing it on -EFBIG up
 * to `max` bytes. */
static ssize_t read_grow(int dirfd, const char *path, size_t start, size_t max, char **ret)
{
	size_t size = start;
	char *buf = NULL;
	ssize_t n;
	int fd;

	fd = jpu_open_at(dirfd, path);
	if (fd < 0)
		return fd;
	for (;;) {
		char *nb = realloc(buf, size);

		if (!nb) {
			n = -ENOMEM;
			break;
		}
		buf = nb;
		n = jpu_pread_all(fd, buf, size);
		if (n != -EFBIG || size >= max)
			break;
		size *= 2;
		if (size > max)
			size = max;
	}
	close(fd);
	if (n < 0) {
		free(buf);
		return n;
	}
	*ret = buf;
	return n;
}

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl : end;
}

int jpu_parse_proc_stat(const char *buf, size_t len, struct jpu_host_cpu *ret)
{
	/* fs/proc/stat.c: user nice system idle iowait irq softirq steal
	 * guest guest_nice; guest and guest_nice are already inside user and
	 * nice (kernel/sched/cputime.c, account_guest_time) */
	uint64_t v[10] = {0};
	const char *p, *end = buf + len, *le;
	bool have_total = false;
	unsigned ncpu = 0, i;
	int r = 0;

	for (p = buf; p < end; p = le + 1) {
		le = line_end(p, end);
		if (le - p >= 4 && memcmp(p, "cpu ", 4) == 0 && !have_total) {
			const char *q = p + 4;

			/* the first four have been there since 2.4; newer kernels
			 * append the rest */
			for (i = 0; i < JPU_ARRAY_SIZE(v); i++) {
				r = jpu_next_u64(&q, le, &v[i]);
				if (r < 0)
					break;
			}
			if (i < 4)
				return -EBADMSG;
			/* a field that is not a number is garbage, not the end */
			if (r < 0) {
				while (q < le && (*q == ' ' || *q == '\t'))
					q++;
				if (q < le)
					return -EBADMSG;
			}
			for (i = 0; i < JPU_ARRAY_SIZE(v); i++)
				if (v[i] > UINT64_MAX / 16)
					return -ERANGE;
			have_total = true;
		} else if (le - p >= 4 && memcmp(p, "cpu", 3) == 0 && p[3] >= '0' && p[3] <= '9') {
			ncpu++;
		}
		if (le == end)
			break;
	}
	if (!have_total)
		return -EBADMSG;
	ret->busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6];
	ret->all_ticks = ret->busy_ticks + v[3] + v[4];
	ret->ncpu = ncpu ? ncpu : 1;
	return 0;
}

int jpu_proc_host_cpu(int procfs_fd, struct jpu_host_cpu *ret)
{
	char *buf = NULL;
	ssize_t n;
	int r;

	n = read_grow(procfs_fd, "stat", 8192, PROC_STAT_MAX, &buf);
	if (n < 0)
		return (int)n;
	r = jpu_parse_proc_stat(buf, (size_t)n, ret);
	free(buf);
	return r;
}

/* "Key:   12345 kB" -> bytes */
static int meminfo_value(const char *p, const char *le, uint64_t *ret)
{
	uint64_t kb;
	const char *s;

	if (jpu_next_u64(&p, le, &kb) < 0)
		return -EBADMSG;
	while (p < le && *p == ' ')
		p++;
	s = p;
	if (le - s != 2 || memcmp(s, "kB", 2) != 0)
		return -EBADMSG;
	if (kb > UINT64_MAX / 1024)
		return -ERANGE;
	*ret = kb * 1024;
	return 0;
}

int jpu_parse_meminfo(const char *buf, size_t len, uint64_t *ret_total, uint64_t *ret_used)
{
	static const char *const keys[] = {
	        "MemTotal:", "MemAvailable:", "MemFree:", "Buffers:", "Cached:"};
	uint64_t val[JPU_ARRAY_SIZE(keys)] = {0};
	bool have[JPU_ARRAY_SIZE(keys)] = {false};
	const char *p, *end = buf + len, *le;
	uint64_t avail;
	size_t k;
	int r;

	for (p = buf; p < end; p = le + 1) {
		le = line_end(p, end);
		for (k = 0; k < JPU_ARRAY_SIZE(keys); k++) {
			size_t kl = strlen(keys[k]);

			if ((size_t)(le - p) > kl && memcmp(p, keys[k], kl) == 0) {
				r = meminfo_value(p + kl, le, &val[k]);
				if (r < 0)
					return r;
				have[k] = true;
			}
		}
		if (le == end)
			break;
	}
	if (!have[0] || val[0] == 0)
		return -EBADMSG;
	if (have[1]) {
		avail = val[1];
	} else if (have[2] && have[3] && have[4]) {
		/* kernels before 3.14 have no MemAvailable: the classic
		 * free + buffers + cached approximation */
		if (val[2] > UINT64_MAX / 4 || val[3] > UINT64_MAX / 4 || val[4] > UINT64_MAX / 4)
			return -ERANGE;
		avail = val[2] + val[3] + val[4];
	} else {
		return -EBADMSG;
	}
	*ret_total = val[0];
	*ret_used = avail >= val[0] ? 0 : val[0] - avail;
	return 0;
}

int jpu_proc_meminfo(int procfs_fd, uint64_t *ret_total, uint64_t *ret_used)
{
	char *buf = NULL;
	ssize_t n;
	int r;

	n = read_grow(procfs_fd, "meminfo", 8192, 65536, &buf);
	if (n < 0)
		return (int)n;
	r = jpu_parse_meminfo(buf, (size_t)n, ret_total, ret_used);
	free(buf);
	return r;
}

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int jpu_parse_pid_stat(const char *buf, size_t len, struct jpu_pid_stat *ret)
{
	const char *end = buf + len, *p, *rp;
	uint64_t pid, ppid, u, s, cu, cs, start, rss;
	struct jpu_pid_stat st;

	/* "PID (comm) S ppid ..." (proc(5)); comm is up to 16 bytes of
	 * anything, ")" and " (" included, so fields start after the LAST ')' */
	p = memchr(buf, ' ', len);
	if (!p || p == buf || jpu_parse_u64(buf, (size_t)(p - buf), &pid) < 0)
		return -EBADMSG;
	if (pid == 0 || pid > INT_MAX || end - p < 2 || p[1] != '(')
		return -EBADMSG;
	rp = NULL;
	for (const char *q = end; q > p + 2; q--) {
		if (q[-1] == ')') {
			rp = q - 1;
			break;
		}
	}
	if (!rp)
		return -EBADMSG;
	p = rp + 1;
	/* " S " : one state letter between single spaces */
	if (end - p < 3 || p[0] != ' ' || !is_alpha(p[1]) || p[2] != ' ')
		return -EBADMSG;
	st.state = p[1];
	p += 2;
	/* 4 ppid, 5-13 skipped (tty_nr and tpgid may be negative),
	 * 14-17 utime stime cutime cstime, 18-21 skipped (priority and nice
	 * may be negative), 22 starttime, 23 vsize, 24 rss */
	if (jpu_next_u64(&p, end, &ppid) < 0 || ppid > INT_MAX || jpu_skip_fields(&p, end, 9) < 0 ||
	    jpu_next_u64(&p, end, &u) < 0 || jpu_next_u64(&p, end, &s) < 0 ||
	    jpu_next_u64(&p, end, &cu) < 0 || jpu_next_u64(&p, end, &cs) < 0 ||
	    jpu_skip_fields(&p, end, 4) < 0 || jpu_next_u64(&p, end, &start) < 0 ||
	    jpu_skip_fields(&p, end, 1) < 0 || jpu_next_u64(&p, end, &rss) < 0)
		return -EBADMSG;
	/* the sum of four of them must not overflow later */
	if (u > UINT64_MAX / 8 || s > UINT64_MAX / 8 || cu > UINT64_MAX / 8 || cs > UINT64_MAX / 8)
		return -ERANGE;
	st.pid = (pid_t)pid;
	st.ppid = (pid_t)ppid;
	st.utime = u;
	st.stime = s;
	st.cutime = cu;
	st.cstime = cs;
	st.starttime = start;
	st.rss_pages = rss;
	*ret = st;
	return 0;
}

/* Read and parse /proc/PID/stat. -ENOENT/-ESRCH when the process is gone. */
static int read_pid_stat(int procfs_fd, pid_t pid, struct jpu_pid_stat *ret)
{
	char path[32], buf[PID_STAT_BUF];
	ssize_t n;
	int r;

	snprintf(path, sizeof path, "%d/stat", (int)pid);
	n = jpu_read_at(procfs_fd, path, buf, sizeof buf);
	if (n < 0)
		return (int)n;
	r = jpu_parse_pid_stat(buf, (size_t)n, ret);
	if (r < 0)
		return r;
	/* a stat file that names another pid is not this process */
	return ret->pid == pid ? 0 : -EBADMSG;
}

static bool gone(int r)
{
	return r == -ENOENT || r == -ESRCH;
}

/* ---- an open-addressing pid table --------------------------------------- */

/* Elements are structs whose first member is `pid_t pid`; pid 0 marks an
 * empty slot (pid 0 is never a process in /proc). Linear probing with
 * backward-shift deletion, so there are no tombstones to sweep. */
struct pidtab {
	char *slots;
	size_t elsize;
	uint32_t cap; /* power of two, 0 before the first insert */
	uint32_t n;
};

static pid_t slot_pid(const struct pidtab *h, uint32_t i)
{
	pid_t p;

	memcpy(&p, h->slots + (size_t)i * h->elsize, sizeof p);
	return p;
}

static void *slot_at(const struct pidtab *h, uint32_t i)
{
	return h->slots + (size_t)i * h->elsize;
}

static uint32_t pid_hash(pid_t pid, uint32_t cap)
{
	/* Fibonacci hashing: sequential pids spread over the table */
	return ((uint32_t)pid * 2654435761u) & (cap - 1);
}

static void *pidtab_find(const struct pidtab *h, pid_t pid)
{
	uint32_t i;

	if (h->cap == 0 || pid <= 0)
		return NULL;
	for (i = pid_hash(pid, h->cap);; i = (i + 1) & (h->cap - 1)) {
		pid_t p = slot_pid(h, i);

		if (p == pid)
			return slot_at(h, i);
		if (p == 0)
			return NULL;
	}
}

static int pidtab_grow(struct pidtab *h)
{
	uint32_t ncap = h->cap ? h->cap * 2 : 64, i;
	struct pidtab nh = {.elsize = h->elsize, .cap = ncap, .n = h->n};

	if (ncap == 0 || ncap > (1u << 28))
		return -ENOMEM;
	nh.slots = calloc(ncap, h->elsize);
	if (!nh.slots)
		return -ENOMEM;
	for (i = 0; i < h->cap; i++) {
		pid_t p = slot_pid(h, i);
		uint32_t j;

		if (p == 0)
			continue;
		for (j = pid_hash(p, ncap); slot_pid(&nh, j) != 0; j = (j + 1) & (ncap - 1))
			;
		memcpy(slot_at(&nh, j), slot_at(h, i), h->elsize);
	}
	free(h->slots);
	*h = nh;
	return 0;
}

/* Insert pid (which must not be present); returns its zeroed slot with pid
 * set, or NULL when out of memory. Invalidates earlier slot pointers. */
static void *pidtab_insert(struct pidtab *h, pid_t pid)
{
	uint32_t i;
	void *e;

	if ((h->n + 1) * 10 >= h->cap * 7 && pidtab_grow(h) < 0)
		return NULL;
	for (i = pid_hash(pid, h->cap); slot_pid(h, i) != 0; i = (i + 1) & (h->cap - 1))
		;
	e = slot_at(h, i);
	memset(e, 0, h->elsize);
	memcpy(e, &pid, sizeof pid);
	h->n++;
	return e;
}

static void pidtab_remove(struct pidtab *h, pid_t pid)
{
	uint32_t i, j, mask = h->cap - 1;

	if (h->cap == 0)
		return;
	for (i = pid_hash(pid, h->cap);; i = (i + 1) & mask) {
		pid_t p = slot_pid(h, i);

		if (p == 0)
			return;
		if (p == pid)
			break;
	}
	/* backward shift: pull later entries of the cluster into the hole
	 * when their home slot is not between the hole and them */
	for (j = (i + 1) & mask;; j = (j + 1) & mask) {
		pid_t p = slot_pid(h, j);
		uint32_t home;

		if (p == 0)
			break;
		home = pid_hash(p, h->cap);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			memcpy(slot_at(h, i), slot_at(h, j), h->elsize);
			i = j;
		}
	}
	memset(slot_at(h, i), 0, h->elsize);
	h->n--;
}

static void pidtab_clear(struct pidtab *h)
{
	free(h->slots);
	h->slots = NULL;
	h->cap = h->n = 0;
}

/* ---- the process table -------------------------------------------------- */

struct pt_entry {
	pid_t pid;
	pid_t ppid;
	uid_t uid;
	uint32_t gen;
	uint64_t starttime;
	uint64_t first_scan; /* number of the pass that first listed it */
};

struct jpu_proctab {
	int procfs_fd, sysfs_fd; /* borrowed */
	int dir_fd;              /* owned: "." of procfs, rewound per scan */
	const struct jpu_logger *log;
	struct pidtab tab; /* of struct pt_entry */
	pid_t *fresh;      /* PIDs first seen by the last scan, by starttime */
	size_t n_fresh, cap_fresh;
	pid_t *scratch; /* sweep list */
	size_t cap_scratch;
	char *dents;
	uint32_t gen;                       /* refresh calls */
	uint32_t scan_gen;                  /* gen of the last actual scan */
	uint64_t scans;                     /* number of scans */
	unsigned scanners;                  /* consumers that need the global scan every tick */
	unsigned lazy;                      /* consumers that need it now and then (users) */
	uint64_t scan_end_ns, scan_cost_ns; /* CLOCK_MONOTONIC, last pass */
	unsigned fds_left;                  /* member fds that may still be kept open */
	bool children;                      /* /proc/PID/task/TID/children exists */
	bool real_proc;                     /* a procfs mount, not a fixture tree */
};

static int push_pid(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		pid_t *nv = realloc(*v, nc * sizeof *nv);

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = pid;
	return 0;
}

int jpu_proctab_new(int procfs_fd, int sysfs_fd, const struct jpu_logger *log,
                    struct jpu_proctab **ret)
{
	struct jpu_proctab *t;

	t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	t->dir_fd = -1;
	t->procfs_fd = procfs_fd;
	t->sysfs_fd = sysfs_fd;
	t->log = log;
	t->tab.elsize = sizeof(struct pt_entry);
	t->dir_fd = openat(procfs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dir_fd < 0) {
		int r = -errno;

		jpu_proctab_free(t);
		return r;
	}
	t->dents = malloc(DENTS_BUF);
	if (!t->dents) {
		jpu_proctab_free(t);
		return -ENOMEM;
	}
	/* PID 1 exists in every pid namespace; a fixture tree may also carry
	 * the file to exercise this path */
	t->children = faccessat(procfs_fd, "1/task/1/children", F_OK, 0) == 0;
	{
		struct statfs sf;

		/* an open /proc/PID/stat of an exited process reads ESRCH, so
		 * keeping it open is safe; a fixture's regular file would keep
		 * reading the old content after its directory is removed */
		t->real_proc = fstatfs(procfs_fd, &sf) == 0 && sf.f_type == PROC_MAGIC;
		t->fds_left = t->real_proc ? MEMBER_FD_BUDGET : 0;
	}
	*ret = t;
	return 0;
}

void jpu_proctab_set_children(struct jpu_proctab *t, bool on)
{
	if (t)
		t->children = on;
}

bool jpu_proctab_children(const struct jpu_proctab *t)
{
	return t && t->children;
}

struct jpu_proctab *jpu_proctab_free(struct jpu_proctab *t)
{
	if (!t)
		return NULL;
	if (t->dir_fd >= 0)
		close(t->dir_fd);
	pidtab_clear(&t->tab);
	free(t->fresh);
	free(t->scratch);
	free(t->dents);
	free(t);
	return NULL;
}

static int pt_by_start(const void *a, const void *b, void *tab)
{
	const struct pt_entry *ea = pidtab_find(tab, *(const pid_t *)a);
	const struct pt_entry *eb = pidtab_find(tab, *(const pid_t *)b);
	uint64_t sa = ea ? ea->starttime : 0, sb = eb ? eb->starttime : 0;

	if (sa != sb)
		return sa < sb ? -1 : 1;
	return *(const pid_t *)a < *(const pid_t *)b ? -1 : *(const pid_t *)a > *(const pid_t *)b;
}

/* (Re)read what the table caches about pid. -ENOENT/-ESRCH when gone. */
static int pt_load(struct jpu_proctab *t, struct pt_entry *e)
{
	struct jpu_pid_stat st;
	char name[16];
	struct stat sb;
	int r;

	snprintf(name, sizeof name, "%d", (int)e->pid);
	if (fstatat(t->procfs_fd, name, &sb, 0) < 0)
		return -errno;
	e->uid = sb.st_uid;
	r = read_pid_stat(t->procfs_fd, e->pid, &st);
	if (r < 0) {
		/* unparseable: keep it in the table (so it is not re-read every
		 * tick) with no parent, so it joins no tree */
		e->ppid = 0;
		e->starttime = 0;
		return gone(r) ? r : 0;
	}
	e->ppid = st.ppid;
	e->starttime = st.starttime;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int proctab_scan(struct jpu_proctab *t)
{
	size_t n_stale = 0, i;
	uint32_t gen = t->gen;
	uint64_t t0 = t->real_proc ? mono_ns() : 0;
	int r;

	t->n_fresh = 0;
	if (lseek(t->dir_fd, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		ssize_t n = getdents64(t->dir_fd, t->dents, DENTS_BUF);
		ssize_t off;

		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		for (off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(void *)(t->dents + off);
			struct pt_entry *e;
			uint64_t pid;

			off += d->d_reclen;
			if (d->d_name[0] < '1' || d->d_name[0] > '9' ||
			    jpu_parse_u64(d->d_name, strlen(d->d_name), &pid) < 0 || pid > INT_MAX)
				continue;
			e = pidtab_find(&t->tab, (pid_t)pid);
			if (e) {
				e->gen = gen;
				continue;
			}
			e = pidtab_insert(&t->tab, (pid_t)pid);
			if (!e)
				return -ENOMEM;
			e->gen = gen;
			e->first_scan = t->scans + 1;
			r = pt_load(t, e);
			if (r < 0) {
				/* exited between readdir and open: not an error */
				pidtab_remove(&t->tab, (pid_t)pid);
				continue;
			}
			r = push_pid(&t->fresh, &t->n_fresh, &t->cap_fresh, (pid_t)pid);
			if (r < 0)
				return r;
		}
	}
	/* sweep what the pass did not list */
	for (i = 0; i < t->tab.cap; i++) {
		const struct pt_entry *e = slot_at(&t->tab, i);

		if (e->pid != 0 && e->gen != gen) {
			r = push_pid(&t->scratch, &n_stale, &t->cap_scratch, e->pid);
			if (r < 0)
				return r;
		}
	}
	for (i = 0; i < n_stale; i++)
		pidtab_remove(&t->tab, t->scratch[i]);
	/* parents start before their children: consumers that walk the
	 * fresh list in this order see a parent join before its child */
	if (t->n_fresh > 1)
		qsort_r(t->fresh, t->n_fresh, sizeof *t->fresh, pt_by_start, &t->tab);
	t->scan_gen = gen;
	t->scans++;
	if (t->real_proc) {
		t->scan_end_ns = mono_ns();
		t->scan_cost_ns = t->scan_end_ns - t0;
	}
	return 0;
}

/* Lazy scans: whether the duty cycle allows a pass now. Only on a real
 * /proc, where a pass has a cost worth bounding; a fixture tree is scanned
 * by the tick count alone, so tests are deterministic. */
static bool scan_in_budget(const struct jpu_proctab *t)
{
	if (!t->real_proc || t->scans == 0)
		return true;
	return mono_ns() - t->scan_end_ns >= t->scan_cost_ns * (100 / SCAN_DUTY_PCT - 1);
}

int jpu_proctab_refresh(struct jpu_proctab *t)
{
	if (!t)
		return -EINVAL;
	t->gen++;
	if (t->gen == 0)
		t->gen = 1;
	/* a tree without the children files finds its children in the pass:
	 * every tick */
	if (t->scanners > 0)
		return proctab_scan(t);
	/* users need it only for processes that are not children of their
	 * members (which are found when a member reaps one, see
	 * user_discover_now) */
	if (t->lazy > 0 && t->gen - t->scan_gen >= USER_SCAN_TICKS && scan_in_budget(t))
		return proctab_scan(t);
	return 0;
}

/* Make sure the table reflects this tick (a consumer created between
 * refreshes, or the table skipped scans while nobody needed them). */
static int proctab_ensure(struct jpu_proctab *t)
{
	if (t->scans > 0 && t->scan_gen == t->gen)
		return 0;
	if (t->gen == 0)
		t->gen = 1;
	return proctab_scan(t);
}

/* ---- member sets (trees and users) -------------------------------------- */

struct member {
	pid_t pid;
	pid_t ppid;
	uint64_t starttime;
	uint64_t total;  /* utime + stime + cutime + cstime at the last read */
	uint64_t ctotal; /* cutime + cstime at the last read */
	uint64_t prev_ctotal;
	uint64_t expected; /* ticks of members this one reaped this tick */
	uint64_t rss_pages;
	uint32_t seen; /* update number of the last read */
	int fd;        /* owned: open PID/stat, -1 when not kept */
	bool vanished;
};

struct mset {
	struct jpu_proctab *t; /* borrowed */
	struct pidtab m;       /* of struct member */
	uint64_t carried;      /* ticks of members gone without a reaper inside */
	uint64_t last_sum;     /* last carried + live sum (never decreases) */
	uint64_t scans_seen;
	uint32_t round;
	bool scanner; /* uses the table: counted in t->scanners or t->lazy */
	bool lazy;    /* ... in t->lazy: discovers through the pass now and then */
	/* Users: a process that joins after the first update and had started
	 * before it (listed by the pass numbered born_scan or earlier) counts
	 * from when it joins: its total then goes into `discount`. One that
	 * started later counts its whole life, time used before a lazy pass
	 * found it included. */
	bool counting;
	uint64_t born_scan;
	uint64_t discount;
	pid_t *list; /* scratch */
	size_t n_list, cap_list;
};

static void member_close(struct mset *s, struct member *m)
{
	if (m && m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
		s->t->fds_left++;
	}
}

static void mset_clear(struct mset *s)
{
	for (uint32_t i = 0; i < s->m.cap; i++) {
		struct member *m = slot_at(&s->m, i);

		if (m->pid != 0)
			member_close(s, m);
	}
	pidtab_clear(&s->m);
}

/* Read a member's stat through its kept fd, or open it (and keep it while
 * the budget lasts). */
static int member_read(struct mset *s, struct member *m, struct jpu_pid_stat *st)
{
	char buf[PID_STAT_BUF];
	ssize_t n;
	int r;

	if (m->fd < 0 && s->t->fds_left > 0) {
		char path[32];

		snprintf(path, sizeof path, "%d/stat", (int)m->pid);
		r = jpu_open_at(s->t->procfs_fd, path);
		if (r < 0)
			return r;
		m->fd = r;
		s->t->fds_left--;
	}
	if (m->fd < 0)
		return read_pid_stat(s->t->procfs_fd, m->pid, st);
	n = jpu_pread_all(m->fd, buf, sizeof buf);
	if (n < 0)
		return (int)n;
	r = jpu_parse_pid_stat(buf, (size_t)n, st);
	if (r < 0)
		return r;
	return st->pid == m->pid ? 0 : -EBADMSG;
}

static void mset_fini(struct mset *s)
{
	if (s->scanner && s->lazy && s->t->lazy > 0)
		s->t->lazy--;
	else if (s->scanner && !s->lazy && s->t->scanners > 0)
		s->t->scanners--;
	s->scanner = s->lazy = false;
	mset_clear(s);
	free(s->list);
	s->list = NULL;
	s->n_list = s->cap_list = 0;
}

/* Add pid with its stat read now. 0, -ESRCH/-ENOENT when gone, -ENOMEM. */
static int mset_add(struct mset *s, pid_t pid, const struct jpu_pid_stat *have)
{
	struct jpu_pid_stat st;
	struct member *m;
	int r;

	if (pidtab_find(&s->m, pid))
		return 0;
	if (have) {
		st = *have;
	} else {
		r = read_pid_stat(s->t->procfs_fd, pid, &st);
		if (r < 0)
			return r;
	}
	m = pidtab_insert(&s->m, pid);
	if (!m)
		return -ENOMEM;
	m->ppid = st.ppid;
	m->starttime = st.starttime;
	m->total = st.utime + st.stime + st.cutime + st.cstime;
	m->ctotal = m->prev_ctotal = st.cutime + st.cstime;
	m->rss_pages = st.rss_pages;
	m->seen = s->round;
	m->fd = -1;
	return 0;
}

static bool mset_live(const struct mset *s, pid_t pid)
{
	const struct member *m = pidtab_find(&s->m, pid);

	return m && !m->vanished;
}

/* Membership rules: a tree takes children of live members, a user takes
 * processes of its uid. */
struct mrule {
	bool is_tree;
	pid_t root;
	uid_t uid;
};

static int list_push(struct mset *s, pid_t pid)
{
	return push_pid(&s->list, &s->n_list, &s->cap_list, pid);
}

/* A process of the user joins (st: its stat when already read, else NULL).
 * Whether it started before the user's first update is told by the pass
 * that first listed it; one the table never listed started after the
 * last pass, so after the first update. 0, -ESRCH/-ENOENT, -ENOMEM. */
static int user_join(struct mset *s, pid_t pid, const struct jpu_pid_stat *have)
{
	const struct pt_entry *e;
	const struct member *m;
	struct jpu_pid_stat st;
	int r;

	if (pidtab_find(&s->m, pid))
		return 0;
	if (have) {
		st = *have;
	} else {
		r = read_pid_stat(s->t->procfs_fd, pid, &st);
		if (r < 0)
			return r;
	}
	r = mset_add(s, pid, &st);
	if (r < 0)
		return r;
	e = pidtab_find(&s->t->tab, pid);
	m = pidtab_find(&s->m, pid);
	if (s->counting && m && e && e->first_scan <= s->born_scan && e->starttime == st.starttime)
		s->discount += m->total;
	return 0;
}

/* Find new members from the process table: the fresh PIDs of the last
 * scan, or the whole table when this set missed a scan. */
static int discover_from_table(struct mset *s, const struct mrule *rule)
{
	struct jpu_proctab *t = s->t;
	size_t i;
	int r;

	s->n_list = 0;
	if (t->scans == s->scans_seen)
		return 0;
	if (t->scans == s->scans_seen + 1) {
		for (i = 0; i < t->n_fresh; i++) {
			r = list_push(s, t->fresh[i]);
			if (r < 0)
				return r;
		}
	} else {
		for (i = 0; i < t->tab.cap; i++) {
			const struct pt_entry *e = slot_at(&t->tab, i);

			if (e->pid != 0) {
				r = list_push(s, e->pid);
				if (r < 0)
					return r;
			}
		}
		if (s->n_list > 1)
			qsort_r(s->list, s->n_list, sizeof *s->list, pt_by_start, &t->tab);
	}
	s->scans_seen = t->scans;
	for (i = 0; i < s->n_list; i++) {
		const struct pt_entry *e = pidtab_find(&t->tab, s->list[i]);
		bool join;

		if (!e)
			continue;
		if (!rule->is_tree) {
			if (e->uid != rule->uid)
				continue;
			r = user_join(s, e->pid, NULL);
			if (r == -ENOMEM)
				return r;
			continue;
		}
		join = e->pid == rule->root || (e->ppid > 0 && mset_live(s, e->ppid));
		if (!join)
			continue;
		r = mset_add(s, e->pid, NULL);
		if (r == -ENOMEM)
			return r;
	}
	return 0;
}

/* Parse a children file ("pid pid pid ") and add the ones not yet in (for
 * a user, only those of its uid). */
static int add_children_from(struct mset *s, const struct mrule *rule, int dirfd, const char *path,
                             pid_t parent)
{
	char buf[CHILDREN_BUF];
	const char *p, *end;
	ssize_t n;

	n = jpu_read_at(dirfd, path, buf, sizeof buf);
	if (n < 0)
		return gone((int)n) ? 0 : (int)n;
	p = buf;
	end = buf + n;
	for (;;) {
		struct jpu_pid_stat st;
		uint64_t pid;
		int r;

		if (jpu_next_u64(&p, end, &pid) < 0)
			break;
		if (pid == 0 || pid > INT_MAX || pidtab_find(&s->m, (pid_t)pid))
			continue;
		r = read_pid_stat(s->t->procfs_fd, (pid_t)pid, &st);
		if (r < 0 || st.ppid != parent)
			continue;
		if (rule->is_tree) {
			r = mset_add(s, (pid_t)pid, &st);
		} else {
			char name[16];
			struct stat sb;

			/* /proc/PID is owned by the process's euid
			 * (fs/proc/base.c, task_dump_owner), as in pt_load */
			snprintf(name, sizeof name, "%d", (int)pid);
			if (fstatat(s->t->procfs_fd, name, &sb, 0) < 0 || sb.st_uid != rule->uid)
				continue;
			r = user_join(s, (pid_t)pid, &st);
		}
		if (gone(r))
			continue;
		if (r < 0)
			return r;
		r = list_push(s, (pid_t)pid);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Children of pid over all its threads: each thread lists the children it
 * forked (fs/proc/array.c, get_children_pid). */
static int add_children(struct mset *s, const struct mrule *rule, pid_t pid)
{
	char path[48];
	int dfd, r = 0;

	snprintf(path, sizeof path, "%d/task", (int)pid);
	dfd = openat(s->t->procfs_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return gone(-errno) ? 0 : -errno;
	for (;;) {
		ssize_t n = getdents64(dfd, s->t->dents, DENTS_BUF);
		ssize_t off;

		if (n <= 0) {
			if (n < 0)
				r = -errno;
			break;
		}
		for (off = 0; off < n && r >= 0;) {
			struct dirent64 *d = (struct dirent64 *)(void *)(s->t->dents + off);
			char cpath[320];

			off += d->d_reclen;
			if (d->d_name[0] < '1' || d->d_name[0] > '9')
				continue;
			snprintf(cpath, sizeof cpath, "%s/children", d->d_name);
			r = add_children_from(s, rule, dfd, cpath, pid);
		}
		if (r < 0)
			break;
	}
	close(dfd);
	return r;
}

static int discover_children(struct mset *s, const struct mrule *rule)
{
	size_t i;
	int r;

	s->n_list = 0;
	for (i = 0; i < s->m.cap; i++) {
		const struct member *m = slot_at(&s->m, i);

		if (m->pid != 0 && !m->vanished) {
			r = list_push(s, m->pid);
			if (r < 0)
				return r;
		}
	}
	/* the list grows as children join, so grandchildren are found too */
	for (i = 0; i < s->n_list; i++) {
		r = add_children(s, rule, s->list[i]);
		if (r == -ENOMEM)
			return r;
	}
	return 0;
}

/* A user's members in s->list reaped children it did not know (their
 * cutime/cstime grew by more than the members that vanished): that time is
 * already in the sum, but the reaper is forking, and a sibling still alive
 * or orphaned to init would only be found by the next lazy pass (and lost if
 * it exits before, reaped outside the user). Look now: in the reapers'
 * children files where there are (cheap: these members only), else with a
 * pass within the duty cycle. */
static int user_discover_now(struct mset *s, const struct mrule *rule)
{
	struct jpu_proctab *t = s->t;
	int r;

	if (t->children) {
		/* the list grows as children join: grandchildren too */
		for (size_t i = 0; i < s->n_list; i++) {
			r = add_children(s, rule, s->list[i]);
			if (r == -ENOMEM)
				return r;
		}
		return 0;
	}
	if (t->scan_gen == t->gen || !scan_in_budget(t))
		return 0;
	r = proctab_scan(t);
	if (r < 0)
		return r;
	return discover_from_table(s, rule);
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* The children of members that vanished were re-parented (to init, or to
 * a PR_SET_CHILD_SUBREAPER ancestor): re-read the cached ppid of the
 * processes whose parent was one of them (s->list), so the table stays
 * true and a subreaper inside the tree keeps its adopted grandchildren.
 * O(table) but only on a tick where a member exited. */
static void reparent(struct mset *s)
{
	struct jpu_proctab *t = s->t;

	if (s->n_list > 1)
		qsort(s->list, s->n_list, sizeof *s->list, cmp_pid);
	for (uint32_t i = 0; i < t->tab.cap; i++) {
		struct pt_entry *e = slot_at(&t->tab, i);

		if (e->pid == 0 || e->ppid <= 0 ||
		    !bsearch(&e->ppid, s->list, s->n_list, sizeof *s->list, cmp_pid))
			continue;
		if (pt_load(t, e) < 0)
			continue;
		if (!pidtab_find(&s->m, e->pid) && mset_live(s, e->ppid))
			(void)mset_add(s, e->pid, NULL);
	}
}

/* Re-read every member, retire the vanished ones and return the monotonic
 * sum in *ret_sum and the RSS pages of live members in *ret_rss. */
static int mset_account(struct mset *s, const struct mrule *rule, uint64_t *ret_sum,
                        uint64_t *ret_rss)
{
	size_t n_gone = 0, i;
	uint64_t sum, rss = 0;
	int r;

	for (i = 0; i < s->m.cap; i++) {
		struct member *m = slot_at(&s->m, i);
		struct jpu_pid_stat st;

		if (m->pid == 0)
			continue;
		m->expected = 0;
		m->prev_ctotal = m->ctotal;
		if (m->seen == s->round)
			continue; /* joined this round: read just now */
		r = member_read(s, m, &st);
		if (r == 0 && st.starttime != m->starttime)
			r = -ESRCH; /* PID reused: the process we knew is gone */
		if (gone(r)) {
			m->vanished = true;
			n_gone++;
			continue;
		}
		if (r < 0) {
			jpu_logf(s->t->log, JPU_LOG_DEBUG, "/proc/%d/stat: %s; keeping last value",
			         (int)m->pid, strerror(-r));
			m->seen = s->round;
			continue;
		}
		m->ppid = st.ppid;
		m->total = st.utime + st.stime + st.cutime + st.cstime;
		m->ctotal = st.cutime + st.cstime;
		/* cutime only grows; a smaller value would be a kernel bug */
		if (m->ctotal < m->prev_ctotal)
			m->prev_ctotal = m->ctotal;
		m->rss_pages = st.rss_pages;
		m->seen = s->round;
	}
	if (n_gone > 0) {
		s->n_list = 0;
		for (i = 0; i < s->m.cap; i++) {
			struct member *m = slot_at(&s->m, i);
			struct member *a;
			unsigned hops = 0;

			if (m->pid == 0 || !m->vanished)
				continue;
			r = list_push(s, m->pid);
			if (r < 0)
				return r;
			/* the reaper is the nearest live member up the last known
			 * parent chain (a parent that died in the same tick may
			 * have reaped it before being reaped itself) */
			a = pidtab_find(&s->m, m->ppid);
			while (a && a->vanished && hops++ < s->m.n)
				a = pidtab_find(&s->m, a->ppid);
			if (a && !a->vanished)
				a->expected += m->total;
			else
				s->carried += m->total;
		}
		/* what a live reaper's cutime/cstime did not take in was
		 * reaped elsewhere (init, a SIGCHLD-ignoring parent): keep it */
		for (i = 0; i < s->m.cap; i++) {
			struct member *m = slot_at(&s->m, i);
			uint64_t got;

			if (m->pid == 0 || m->vanished || m->expected == 0)
				continue;
			got = m->ctotal - m->prev_ctotal;
			if (got < m->expected)
				s->carried += m->expected - got;
		}
		for (i = 0; i < s->n_list; i++) {
			pid_t pid = s->list[i];
			struct jpu_pid_stat st;

			member_close(s, pidtab_find(&s->m, pid));
			pidtab_remove(&s->m, pid);
			/* a reused PID is a new process: it joins by the rule */
			if (read_pid_stat(s->t->procfs_fd, pid, &st) < 0)
				continue;
			if (rule->is_tree ? mset_live(s, st.ppid) : false)
				(void)mset_add(s, pid, &st);
			if (!rule->is_tree) {
				struct pt_entry *e = pidtab_find(&s->t->tab, pid);

				/* started after the last pass: whole life */
				if (e && pt_load(s->t, e) == 0) {
					e->first_scan = s->t->scans + 1;
					if (e->uid == rule->uid)
						(void)user_join(s, pid, &st);
				}
			}
		}
		if (rule->is_tree && !s->t->children)
			reparent(s);
	}
	if (!rule->is_tree && s->counting) {
		s->n_list = 0;
		for (i = 0; i < s->m.cap; i++) {
			const struct member *m = slot_at(&s->m, i);

			if (m->pid != 0 && !m->vanished &&
			    m->ctotal - m->prev_ctotal > m->expected) {
				r = list_push(s, m->pid);
				if (r < 0)
					return r;
			}
		}
		if (s->n_list > 0) {
			r = user_discover_now(s, rule);
			if (r < 0)
				return r;
		}
	}
	sum = s->carried;
	for (i = 0; i < s->m.cap; i++) {
		const struct member *m = slot_at(&s->m, i);

		if (m->pid == 0)
			continue;
		sum += m->total;
		rss += m->rss_pages;
	}
	/* last line of defence: never report less than before (discount is
	 * what late joiners had used before they joined, see struct mset) */
	if (sum < s->last_sum + s->discount) {
		s->carried += s->last_sum + s->discount - sum;
		sum = s->last_sum + s->discount;
	}
	s->last_sum = sum - s->discount;
	*ret_sum = s->last_sum;
	*ret_rss = rss;
	return 0;
}

static int mset_update(struct mset *s, const struct mrule *rule, uint64_t *ret_sum,
                       uint64_t *ret_rss)
{
	int r;

	s->round++;
	if (rule->is_tree && s->t->children) {
		r = discover_children(s, rule);
	} else {
		if (!s->scanner) {
			/* the children files were switched off under us */
			s->scanner = true;
			s->t->scanners++;
			r = proctab_ensure(s->t);
			if (r < 0)
				return r;
			s->scans_seen = 0;
		}
		r = discover_from_table(s, rule);
	}
	if (r < 0)
		return r;
	return mset_account(s, rule, ret_sum, ret_rss);
}

/* ---- trees -------------------------------------------------------------- */

struct jpu_tree {
	struct mset s;
	pid_t root;
	uint64_t root_start;
	bool root_alive;
	uint64_t offset;   /* ticks accumulated under earlier roots */
	uint64_t baseline; /* set sum when the current root was adopted */
	uint64_t rss_pages;
};

static int tree_adopt(struct jpu_tree *tree, pid_t root)
{
	struct mrule rule = {.is_tree = true, .root = root};
	struct jpu_pid_stat st;
	uint64_t sum, rss;
	int r;

	r = read_pid_stat(tree->s.t->procfs_fd, root, &st);
	if (r < 0)
		return gone(r) ? -ESRCH : r;
	if (!tree->s.t->children && !tree->s.scanner) {
		tree->s.scanner = true;
		tree->s.t->scanners++;
	}
	mset_clear(&tree->s);
	tree->s.carried = tree->s.last_sum = 0;
	tree->s.round++;
	r = mset_add(&tree->s, root, &st);
	if (r < 0)
		return r;
	if (!tree->s.t->children) {
		r = proctab_ensure(tree->s.t);
		if (r < 0)
			return r;
		tree->s.scans_seen = 0; /* walk the whole table once */
	}
	r = mset_update(&tree->s, &rule, &sum, &rss);
	if (r < 0)
		return r;
	tree->root = root;
	tree->root_start = st.starttime;
	tree->root_alive = true;
	tree->baseline = sum;
	tree->rss_pages = rss;
	return 0;
}

int jpu_tree_new(struct jpu_proctab *t, pid_t root, struct jpu_tree **ret)
{
	struct jpu_tree *tree;
	int r;

	if (!t || root <= 0)
		return -EINVAL;
	tree = calloc(1, sizeof *tree);
	if (!tree)
		return -ENOMEM;
	tree->s.t = t;
	tree->s.m.elsize = sizeof(struct member);
	r = tree_adopt(tree, root);
	if (r < 0) {
		jpu_tree_free(tree);
		return r;
	}
	/* a new tree counts the root's whole life, not only from now */
	tree->baseline = 0;
	*ret = tree;
	return 0;
}

struct jpu_tree *jpu_tree_free(struct jpu_tree *tree)
{
	if (!tree)
		return NULL;
	mset_fini(&tree->s);
	free(tree);
	return NULL;
}

static uint64_t tree_value(const struct jpu_tree *tree)
{
	/* last_sum never decreases and never falls below baseline */
	return tree->offset + (tree->s.last_sum - tree->baseline);
}

int jpu_tree_reroot(struct jpu_tree *tree, pid_t root)
{
	uint64_t keep;
	int r;

	if (!tree || root <= 0)
		return -EINVAL;
	keep = tree_value(tree);
	r = tree_adopt(tree, root);
	if (r < 0)
		return r;
	/* the new tree's time so far belongs to the restarted kernel's
	 * start, not to this interval: start counting from here */
	tree->offset = keep;
	return 0;
}

int jpu_tree_update(struct jpu_tree *tree, uint64_t *ret_ticks, uint64_t *ret_rss_bytes)
{
	struct mrule rule;
	uint64_t sum, rss;
	int r;

	if (!tree)
		return -EINVAL;
	rule = (struct mrule){.is_tree = true, .root = tree->root};
	if (tree->s.m.n > 0) {
		r = mset_update(&tree->s, &rule, &sum, &rss);
		if (r < 0)
			return r;
		tree->rss_pages = rss;
	} else {
		tree->rss_pages = 0;
	}
	if (tree->root_alive) {
		const struct member *m = pidtab_find(&tree->s.m, tree->root);

		tree->root_alive = m && m->starttime == tree->root_start;
	}
	/* documented in internal.h: the value stays readable after the root
	 * exits (orphaned members keep being counted), so it is written even
	 * with -ESRCH */
	*ret_ticks = tree_value(tree);
	*ret_rss_bytes = tree->rss_pages * (uint64_t)page_size();
	return tree->root_alive ? 0 : -ESRCH;
}

bool jpu_tree_alive(const struct jpu_tree *tree)
{
	return tree && tree->root_alive;
}

pid_t jpu_tree_root(const struct jpu_tree *tree)
{
	return tree ? tree->root : 0;
}

bool jpu_tree_contains(const struct jpu_tree *tree, pid_t pid)
{
	return tree && mset_live(&tree->s, pid);
}

/* ---- users -------------------------------------------------------------- */

enum user_method { USER_PROCFS, USER_CGROUP1, USER_CGROUP2 };

struct jpu_user {
	struct mset s;
	uid_t uid;
	enum user_method method;
	int cpu_fd;          /* owned: cgroup CPU usage file, -1 when unused */
	int mem_fd;          /* owned: cgroup memory file, -1 = sum members */
	uint64_t cg_prev_ns; /* last raw cgroup value */
	uint64_t cg_acc_ns;  /* monotonic accumulation of it */
	bool cg_started;
	uint64_t last_ticks;
};

/* cpu.stat of cgroup v2 (Documentation/admin-guide/cgroup-v2.rst):
 * "usage_usec N" among other keyed lines. */
static int parse_cpu_stat_usec(const char *buf, size_t len, uint64_t *ret)
{
	const char *p = buf, *end = buf + len, *le;

	for (; p < end; p = le + 1) {
		le = line_end(p, end);
		if (le - p > 11 && memcmp(p, "usage_usec ", 11) == 0)
			return jpu_parse_u64(p + 11, (size_t)(le - p - 11), ret) < 0 ? -EBADMSG : 0;
		if (le == end)
			break;
	}
	return -EBADMSG;
}

static int user_cg_read_ns(struct jpu_user *u, uint64_t *ret_ns)
{
	char buf[1024];
	uint64_t v;
	ssize_t n;
	int r;

	n = jpu_pread_all(u->cpu_fd, buf, sizeof buf);
	if (n < 0)
		return (int)n;
	if (u->method == USER_CGROUP2) {
		r = parse_cpu_stat_usec(buf, (size_t)n, &v);
		if (r < 0)
			return r;
		if (v > UINT64_MAX / 1000)
			return -ERANGE;
		*ret_ns = v * 1000;
		return 0;
	}
	/* cgroup v1 cpuacct.usage: nanoseconds
	 * (Documentation/admin-guide/cgroup-v1/cpuacct.rst) */
	r = jpu_parse_u64(buf, (size_t)n, &v);
	if (r < 0)
		return -EBADMSG;
	*ret_ns = v;
	return 0;
}

static int user_open_cgroup(struct jpu_user *u)
{
	static const char *const v1_cpu[] = {"fs/cgroup/cpuacct", "fs/cgroup/cpu,cpuacct"};
	int sysfs = u->s.t->sysfs_fd;
	char path[160];
	size_t i;
	int fd;

	if (sysfs < 0)
		return -ENOENT;
	snprintf(path, sizeof path, "fs/cgroup/user.slice/user-%u.slice/cpu.stat",
	         (unsigned)u->uid);
	fd = jpu_open_at(sysfs, path);
	if (fd >= 0) {
		u->method = USER_CGROUP2;
		u->cpu_fd = fd;
		snprintf(path, sizeof path, "fs/cgroup/user.slice/user-%u.slice/memory.current",
		         (unsigned)u->uid);
		u->mem_fd = jpu_open_at(sysfs, path);
		return 0;
	}
	for (i = 0; i < JPU_ARRAY_SIZE(v1_cpu); i++) {
		snprintf(path, sizeof path, "%s/user.slice/user-%u.slice/cpuacct.usage", v1_cpu[i],
		         (unsigned)u->uid);
		fd = jpu_open_at(sysfs, path);
		if (fd >= 0) {
			u->method = USER_CGROUP1;
			u->cpu_fd = fd;
			snprintf(path, sizeof path,
			         "fs/cgroup/memory/user.slice/user-%u.slice/memory.usage_in_bytes",
			         (unsigned)u->uid);
			u->mem_fd = jpu_open_at(sysfs, path);
			return 0;
		}
	}
	return -ENOENT;
}

int jpu_user_new(struct jpu_proctab *t, uid_t uid, struct jpu_user **ret)
{
	struct jpu_user *u;
	uint64_t ticks, rss;
	int r;

	if (!t)
		return -EINVAL;
	u = calloc(1, sizeof *u);
	if (!u)
		return -ENOMEM;
	u->cpu_fd = u->mem_fd = -1;
	u->s.t = t;
	u->s.m.elsize = sizeof(struct member);
	u->uid = uid;
	u->method = USER_PROCFS;
	if (user_open_cgroup(u) == 0) {
		uint64_t ns;

		/* a cgroup file that is there but unreadable is no cgroup */
		if (user_cg_read_ns(u, &ns) < 0) {
			close(u->cpu_fd);
			u->cpu_fd = -1;
			if (u->mem_fd >= 0)
				close(u->mem_fd);
			u->mem_fd = -1;
			u->method = USER_PROCFS;
		}
	}
	if (u->method == USER_PROCFS || u->mem_fd < 0) {
		/* the per-process sum (for the time, or only for the RSS) needs
		 * the global scan, now and then (jpu_proctab_refresh) */
		u->s.scanner = u->s.lazy = true;
		t->lazy++;
		r = proctab_ensure(t);
		if (r < 0)
			goto fail;
		u->s.born_scan = t->scans;
	}
	r = jpu_user_update(u, &ticks, &rss);
	if (r < 0)
		goto fail;
	u->s.counting = true;
	*ret = u;
	return 0;
fail:
	jpu_user_free(u);
	return r;
}

struct jpu_user *jpu_user_free(struct jpu_user *u)
{
	if (!u)
		return NULL;
	if (u->cpu_fd >= 0)
		close(u->cpu_fd);
	if (u->mem_fd >= 0)
		close(u->mem_fd);
	mset_fini(&u->s);
	free(u);
	return NULL;
}

static uint64_t ns_to_ticks(uint64_t ns)
{
	uint64_t tck = (uint64_t)jpu_clk_tck();

	return ns / 1000000000ULL * tck + ns % 1000000000ULL * tck / 1000000000ULL;
}

int jpu_user_update(struct jpu_user *u, uint64_t *ret_ticks, uint64_t *ret_rss_bytes)
{
	struct mrule rule;
	uint64_t sum = 0, rss_pages = 0, ticks, rss_bytes;
	int r;

	if (!u)
		return -EINVAL;
	rule = (struct mrule){.is_tree = false, .uid = u->uid};
	if (u->s.scanner) {
		r = mset_update(&u->s, &rule, &sum, &rss_pages);
		if (r < 0)
			return r;
	}
	rss_bytes = rss_pages * (uint64_t)page_size();
	if (u->method == USER_PROCFS) {
		ticks = sum;
	} else {
		uint64_t ns;

		r = user_cg_read_ns(u, &ns);
		if (r < 0)
			return r;
		if (!u->cg_started)
			u->cg_acc_ns = ns;
		else if (ns >= u->cg_prev_ns)
			u->cg_acc_ns += ns - u->cg_prev_ns;
		else
			u->cg_acc_ns += ns; /* slice removed and made again */
		u->cg_prev_ns = ns;
		u->cg_started = true;
		ticks = ns_to_ticks(u->cg_acc_ns);
		if (u->mem_fd >= 0) {
			r = jpu_read_u64_fd(u->mem_fd, &rss_bytes);
			if (r < 0)
				return r == -EINVAL ? -EBADMSG : r;
		}
	}
	if (ticks < u->last_ticks)
		ticks = u->last_ticks;
	u->last_ticks = ticks;
	*ret_ticks = ticks;
	*ret_rss_bytes = rss_bytes;
	return 0;
}

bool jpu_user_contains(const struct jpu_user *u, pid_t pid)
{
	char name[16];
	struct stat sb;

	if (!u || pid <= 0)
		return false;
	if (u->s.scanner)
		return mset_live(&u->s, pid);
	/* cgroup method: no member list, ask /proc directly (one fstatat) */
	snprintf(name, sizeof name, "%d", (int)pid);
	return fstatat(u->s.t->procfs_fd, name, &sb, 0) == 0 && sb.st_uid == u->uid;
}

const char *jpu_user_method(const struct jpu_user *u)
{
	if (!u)
		return "none";
	switch (u->method) {
	case USER_CGROUP2:
		return "cgroup2";
	case USER_CGROUP1:
		return "cgroup1";
	case USER_PROCFS:
		break;
	}
	return "procfs";
}
