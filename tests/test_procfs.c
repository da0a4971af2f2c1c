/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * /proc parsing, the process table, tree and user accounting.
 *
 * The accounting tests drive a small model of processes: each tick the
 * model is written out as a throw-away /proc tree (PID/stat and, in the
 * children mode, PID/task/PID/children), so the same story runs through
 * both discovery paths. The live tests use the real /proc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <linux/sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"
#include "proc/procfile.h"
#include "proc/proctab.h"
#include "proc/tree.h"
#include "proc/user.h"

/* ---- helpers ------------------------------------------------------------ */

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* write `content` to dir/rel, making parent directories */
static void put(const char *dir, const char *rel, const char *content)
{
	char path[PATH_MAX];
	size_t i, len;
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	len = strlen(dir) + 1;
	for (i = len; path[i]; i++) {
		if (path[i] == '/') {
			path[i] = '\0';
			mkdir(path, 0755);
			path[i] = '/';
		}
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(path);
		return;
	}
	if (write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		perror(path);
	close(fd);
}

static char *mk_tmp(char *buf, size_t size)
{
	snprintf(buf, size, "/tmp/jpu-test-procfs-XXXXXX");
	if (!mkdtemp(buf)) {
		perror("mkdtemp");
		exit(2);
	}
	return buf;
}

static int open_dir(const char *path)
{
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void stat_line(char *buf, size_t size, int pid, const char *comm, char state, int ppid,
                      uint64_t u, uint64_t s, uint64_t cu, uint64_t cs, uint64_t start,
                      uint64_t rss)
{
	snprintf(buf, size,
	         "%d (%s) %c %d %d %d 0 -1 4194560 100 0 0 0 %" PRIu64 " %" PRIu64 " %" PRIu64
	         " %" PRIu64 " 20 0 1 0 %" PRIu64 " 123456789 %" PRIu64
	         " 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
	         pid, comm, state, ppid, pid, pid, u, s, cu, cs, start, rss);
}

/* ---- parsers ------------------------------------------------------------ */

#define PS(str) jpu_parse_proc_stat(str, strlen(str), &h)
#define PM(str) jpu_parse_meminfo(str, strlen(str), &total, &used)

static void test_parse_pid_stat(void)
{
	struct jpu_pid_stat st = {0};
	char line[512];
	const char *bad[] = {
	        "",
	        "123",
	        "123 (x",
	        "abc (x) S 1 2 3",
	        "-5 (x) S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 5 6 7",
	        "5 (x) S 1 1 1 0 -1 0 0 0 0 0 1 2 3",                   /* truncated */
	        "5 (x) S 1 1 1 0 -1 0 0 0 0 0 1 x 3 4 20 0 1 0 5 6 7",  /* non-numeric stime */
	        "5 (x) S -1 1 1 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 5 6 7", /* negative ppid */
	        "5 (x) S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 5 6",    /* no rss */
	        "5 (x)  S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 5 6 7",
	        "5 x) S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 5 6 7",
	        "0 (x) S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 5 6 7",
	        "5 (x) S 1 1 1 0 -1 0 0 0 0 0 99999999999999999999 2 3 4 20 0 1 0 5 6 7",
	};
	size_t i;

	stat_line(line, sizeof line, 4242, "python3", 'R', 17, 100, 20, 7, 3, 99999, 2048);
	CHECK_EQ_INT(jpu_parse_pid_stat(line, strlen(line), &st), 0);
	CHECK_EQ_INT(st.pid, 4242);
	CHECK_EQ_INT(st.ppid, 17);
	CHECK_EQ_INT(st.state, 'R');
	CHECK_EQ_U64(st.utime, 100);
	CHECK_EQ_U64(st.stime, 20);
	CHECK_EQ_U64(st.cutime, 7);
	CHECK_EQ_U64(st.cstime, 3);
	CHECK_EQ_U64(st.starttime, 99999);
	CHECK_EQ_U64(st.rss_pages, 2048);

	/* comm with ") (" and spaces: fields start after the last ')' */
	stat_line(line, sizeof line, 7, "a) (b", 'S', 6, 1, 2, 3, 4, 5, 6);
	CHECK_EQ_INT(jpu_parse_pid_stat(line, strlen(line), &st), 0);
	CHECK_EQ_INT(st.ppid, 6);
	CHECK_EQ_U64(st.utime + st.stime + st.cutime + st.cstime, 10);
	stat_line(line, sizeof line, 8, ") S 1 2 3 (", 'Z', 1, 9, 9, 9, 9, 9, 9);
	CHECK_EQ_INT(jpu_parse_pid_stat(line, strlen(line), &st), 0);
	CHECK_EQ_INT(st.state, 'Z');
	CHECK_EQ_INT(st.ppid, 1);
	stat_line(line, sizeof line, 9, "", 'S', 1, 1, 1, 1, 1, 1, 1);
	CHECK_EQ_INT(jpu_parse_pid_stat(line, strlen(line), &st), 0);

	/* a line without its newline (as a fuzzer gives it) */
	CHECK_EQ_INT(jpu_parse_pid_stat(line, strlen(line) - 1, &st), 0);

	for (i = 0; i < JPU_ARRAY_SIZE(bad); i++) {
		st.pid = -7;
		CHECK(jpu_parse_pid_stat(bad[i], strlen(bad[i]), &st) < 0);
		CHECK_EQ_INT(st.pid, -7); /* written only on success */
	}
}

static void test_host_cpu(void)
{
	char dir[64], path[PATH_MAX];
	struct jpu_host_cpu h = {0};
	uint64_t total = 0, used = 0;
	char *big;
	size_t off = 0;
	int fd, i;

	/* the shared fixture */
	snprintf(path, sizeof path, "%s/proc-basic/proc", getenv("JPU_FIXTURES"));
	fd = open_dir(path);
	CHECK(fd >= 0);
	CHECK_EQ_INT(jpu_proc_host_cpu(fd, &h), 0);
	/* user+nice+system+irq+softirq; guest (40) is inside user, steal (30)
	 * is nobody's here */
	CHECK_EQ_U64(h.busy_ticks, 1000 + 50 + 500 + 10 + 20);
	CHECK_EQ_U64(h.all_ticks, 1580 + 8000 + 100);
	CHECK_EQ_INT(h.ncpu, 4);
	CHECK_EQ_INT(jpu_proc_meminfo(fd, &total, &used), 0);
	CHECK_EQ_U64(total, 16384000ULL * 1024);
	CHECK_EQ_U64(used, (16384000ULL - 12000000ULL) * 1024);
	close(fd);

	/* steal moves nothing into busy or all */
	CHECK_EQ_INT(PS("cpu  1 0 1 10 0 0 0 500 0 0\ncpu0 1 0 1 10 0 0 0 500\n"), 0);
	CHECK_EQ_U64(h.busy_ticks, 2);
	CHECK_EQ_U64(h.all_ticks, 12);
	CHECK_EQ_INT(h.ncpu, 1);
	/* an old kernel's four fields */
	CHECK_EQ_INT(PS("cpu 5 6 7 8\n"), 0);
	CHECK_EQ_U64(h.busy_ticks, 18);
	CHECK_EQ_U64(h.all_ticks, 26);

	/* malformed host files: an error, never a value */
	h.busy_ticks = 77;
	CHECK_EQ_INT(PS(""), -EBADMSG);
	CHECK_EQ_INT(PS("cpu 1 2 3\n"), -EBADMSG);
	CHECK_EQ_INT(PS("cpu 1 2 x 4 5\n"), -EBADMSG);
	CHECK_EQ_INT(PS("cpu 1 2 3 4 5 x\n"), -EBADMSG);
	CHECK_EQ_INT(PS("cpu 1 -2 3 4\n"), -EBADMSG);
	CHECK_EQ_INT(PS("cpu0 1 2 3 4\n"), -EBADMSG);
	CHECK_EQ_INT(PS("intr 1\n"), -EBADMSG);
	CHECK_EQ_U64(h.busy_ticks, 77);
	CHECK_EQ_INT(PM(""), -EBADMSG);
	CHECK_EQ_INT(PM("MemTotal: x kB\n"), -EBADMSG);
	CHECK_EQ_INT(PM("MemTotal: 100 kB\n"), -EBADMSG);
	CHECK_EQ_INT(PM("MemTotal: 100 MB\nMemAvailable: 1 kB\n"), -EBADMSG);
	/* before 3.14: free + buffers + cached */
	{
		const char *m = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 "
		                "kB\nSwapCached: 999 kB\n";

		CHECK_EQ_INT(jpu_parse_meminfo(m, strlen(m), &total, &used), 0);
		CHECK_EQ_U64(used, 600 * 1024);
	}

	/* a many-CPU /proc/stat larger than the first buffer */
	mk_tmp(dir, sizeof dir);
	big = malloc(600000);
	off += (size_t)snprintf(big, 600000, "cpu  10 0 10 100 0 0 0 0 0 0\n");
	for (i = 0; i < 4096; i++)
		off += (size_t)snprintf(big + off, 600000 - off, "cpu%d 1 0 1 10 0 0 0 0 0 0\n", i);
	put(dir, "stat", big);
	put(dir, "meminfo", "");
	fd = open_dir(dir);
	CHECK_EQ_INT(jpu_proc_host_cpu(fd, &h), 0);
	CHECK_EQ_INT(h.ncpu, 4096);
	CHECK_EQ_INT(jpu_proc_meminfo(fd, &total, &used), -EBADMSG);
	put(dir, "stat", "");
	CHECK_EQ_INT(jpu_proc_host_cpu(fd, &h), -EBADMSG);
	snprintf(path, sizeof path, "%s/stat", dir);
	unlink(path);
	CHECK_EQ_INT(jpu_proc_host_cpu(fd, &h), -ENOENT);
	close(fd);
	free(big);
	rm_rf(dir);
}

/* ---- the fixture tree --------------------------------------------------- */

static void test_fixture_tree(void)
{
	char path[PATH_MAX];
	struct jpu_proctab *t = NULL;
	struct jpu_tree *tree = NULL;
	uint64_t ticks = 0, rss = 0;
	int fd;

	snprintf(path, sizeof path, "%s/proc-basic/proc", getenv("JPU_FIXTURES"));
	fd = open_dir(path);
	CHECK_EQ_INT(jpu_proctab_new(fd, -1, NULL, &t), 0);
	if (!t)
		return;
	CHECK(!jpu_proctab_children(t)); /* the fixture has no children files */
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_tree_new(t, 100, &tree), 0);
	CHECK_EQ_INT(jpu_tree_new(t, 4242, &(struct jpu_tree *){NULL}), -ESRCH);
	if (tree) {
		CHECK_EQ_INT(jpu_tree_update(tree, &ticks, &rss), 0);
		CHECK_EQ_U64(ticks, 1550 + 800 + 85 + 50);
		CHECK_EQ_U64(rss,
		             (20000ULL + 30000 + 10000 + 500) * (uint64_t)sysconf(_SC_PAGESIZE));
		CHECK(jpu_tree_contains(tree, 100));
		CHECK(jpu_tree_contains(tree, 103)); /* grandchild, comm "a) (b" */
		CHECK(!jpu_tree_contains(tree, 200));
		CHECK(!jpu_tree_contains(tree, 1));
		CHECK(jpu_tree_alive(tree));
		CHECK_EQ_INT(jpu_tree_root(tree), 100);
	}
	tree = jpu_tree_free(tree);
	t = jpu_proctab_free(t);
	CHECK(!tree && !t);
	close(fd);
}

/* ---- the model ---------------------------------------------------------- */

#define MAXP 16

struct mproc {
	int pid, ppid;
	const char *comm;
	uint64_t u, s, cu, cs, start, rss;
	bool alive;
	bool garbage; /* write a malformed stat */
	uid_t uid;    /* owner of PID/ (0: root) */
};

struct model {
	char dir[64];
	struct mproc p[MAXP];
	int n;
	bool children; /* write task/PID/children */
	int fd;
};

static struct mproc *mp(struct model *m, int pid)
{
	for (int i = 0; i < m->n; i++)
		if (m->p[i].pid == pid && m->p[i].alive)
			return &m->p[i];
	return NULL;
}

static struct mproc *spawn(struct model *m, int pid, int ppid, uint64_t u, uint64_t start)
{
	struct mproc *p = &m->p[m->n++];

	*p = (struct mproc){.pid = pid,
	                    .ppid = ppid,
	                    .comm = "w) (x",
	                    .u = u,
	                    .s = 0,
	                    .start = start,
	                    .rss = 10,
	                    .alive = true};
	return p;
}

/* the parent reaps: its cutime takes the child's total (wait_task_zombie) */
static void reap(struct model *m, int pid, bool into_parent)
{
	struct mproc *c = mp(m, pid), *p;

	if (!c)
		return;
	p = mp(m, c->ppid);
	if (into_parent && p)
		p->cu += c->u + c->s + c->cu + c->cs;
	c->alive = false;
	/* its children go to init */
	for (int i = 0; i < m->n; i++)
		if (m->p[i].alive && m->p[i].ppid == pid)
			m->p[i].ppid = 1;
}

static void write_model(struct model *m)
{
	char rel[128], line[512], kids[256];

	for (int i = 0; i < m->n; i++) {
		struct mproc *p = &m->p[i];

		snprintf(rel, sizeof rel, "%s/%d", m->dir, p->pid);
		if (!p->alive) {
			/* unless a live process reuses the pid */
			if (!mp(m, p->pid))
				rm_rf(rel);
			continue;
		}
		snprintf(rel, sizeof rel, "%d/stat", p->pid);
		if (p->garbage)
			snprintf(line, sizeof line, "%d (%s) S garbage\n", p->pid, p->comm);
		else
			stat_line(line, sizeof line, p->pid, p->comm, 'S', p->ppid, p->u, p->s,
			          p->cu, p->cs, p->start, p->rss);
		put(m->dir, rel, line);
		if (p->uid != 0) {
			snprintf(rel, sizeof rel, "%s/%d", m->dir, p->pid);
			if (chown(rel, p->uid, 0) < 0)
				perror(rel);
		}
		if (!m->children)
			continue;
		kids[0] = '\0';
		for (int j = 0; j < m->n; j++) {
			if (m->p[j].alive && m->p[j].ppid == p->pid) {
				size_t l = strlen(kids);

				snprintf(kids + l, sizeof kids - l, "%d ", m->p[j].pid);
			}
		}
		snprintf(rel, sizeof rel, "%d/task/%d/children", p->pid, p->pid);
		put(m->dir, rel, kids);
	}
}

static void model_init(struct model *m, bool children)
{
	memset(m, 0, sizeof *m);
	mk_tmp(m->dir, sizeof m->dir);
	m->children = children;
	spawn(m, 1, 0, 1000, 1);
	write_model(m);
	m->fd = open_dir(m->dir);
}

static void model_fini(struct model *m)
{
	close(m->fd);
	rm_rf(m->dir);
}

static uint64_t tick(struct model *m, struct jpu_proctab *t, struct jpu_tree *tree, int *rc)
{
	uint64_t ticks = 0, rss = 0;

	write_model(m);
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	*rc = jpu_tree_update(tree, &ticks, &rss);
	return ticks;
}

/* The story: every step states the exact cumulative ticks expected. */
static void story(bool children)
{
	struct jpu_proctab *t = NULL;
	struct jpu_tree *tree = NULL;
	struct model m;
	uint64_t v, prev, base;
	int rc;

	model_init(&m, children);
	spawn(&m, 100, 1, 10, 100);  /* the kernel */
	spawn(&m, 101, 100, 3, 110); /* its child */
	spawn(&m, 900, 1, 500, 50);  /* unrelated */
	write_model(&m);
	CHECK_EQ_INT(jpu_proctab_new(m.fd, -1, NULL, &t), 0);
	if (!t)
		goto out;
	CHECK(jpu_proctab_children(t) == children);
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_tree_new(t, 100, &tree), 0);
	if (!tree)
		goto out;
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_U64(v, 13);

	/* child spawned: a grandchild appears with some time already */
	spawn(&m, 102, 101, 1, 200);
	mp(&m, 100)->u = 12;
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_U64(v, 12 + 3 + 1);
	CHECK(jpu_tree_contains(tree, 102));
	CHECK(!jpu_tree_contains(tree, 900));

	/* reaped by a member: it ran on to 4 before exiting; 101's cutime
	 * takes the 4, nothing counted twice */
	mp(&m, 102)->u = 4;
	reap(&m, 102, true);
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_U64(v, 12 + 3 + 4);
	CHECK(!jpu_tree_contains(tree, 102));

	/* orphaned to init: 103 under 101; 101 exits (reaped by 100), 103 is
	 * re-parented to 1 and stays counted */
	spawn(&m, 103, 101, 2, 300);
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_U64(v, 12 + 3 + 4 + 2);
	reap(&m, 101, true); /* 100.cu += 3 + 4 */
	mp(&m, 103)->u = 6;
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_U64(v, 12 + 7 + 6);
	CHECK(jpu_tree_contains(tree, 103));
	/* init reaps it: its last seen 6 is kept */
	reap(&m, 103, false);
	mp(&m, 1)->cu += 6;
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_U64(v, 12 + 7 + 6);

	/* a parent that ignores SIGCHLD: the kernel auto-reaps and its
	 * cutime never grows; the child's time is kept anyway */
	spawn(&m, 104, 100, 5, 400);
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_U64(v, 12 + 7 + 6 + 5);
	reap(&m, 104, false);
	mp(&m, 100)->u += 2; /* the same tick, the root runs on */
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_U64(v, 12 + 7 + 6 + 5 + 2);

	/* PID reuse: 105 exits, reaped by nobody inside, and an unrelated
	 * process takes its PID (another starttime, parent 1) */
	spawn(&m, 105, 100, 8, 500);
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_U64(v, 32 + 8);
	reap(&m, 105, true); /* 100.cu += 8 */
	spawn(&m, 105, 1, 1000, 600);
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_U64(v, 40);
	CHECK(!jpu_tree_contains(tree, 105));
	/* and a reused PID that is a child of a member joins (the global
	 * scan sees a PID change only when it is gone for one tick) */
	reap(&m, 105, false);
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_U64(v, 40);
	spawn(&m, 105, 100, 1, 700);
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_U64(v, 41);
	CHECK(jpu_tree_contains(tree, 105));
	if (children) {
		/* the children files see a PID reused within one tick: the
		 * old process is retired and the new child joins at once */
		reap(&m, 105, true);
		spawn(&m, 105, 100, 3, 750);
		v = tick(&m, t, tree, &rc);
		CHECK_EQ_U64(v, 44);
		CHECK(jpu_tree_contains(tree, 105));
		reap(&m, 105, true);
		spawn(&m, 105, 100, 0, 760);
		v = tick(&m, t, tree, &rc);
		CHECK_EQ_U64(v, 44);
	}
	base = v; /* the two paths differ by the block above */

	/* a malformed stat of a member: no crash, no drop */
	mp(&m, 105)->garbage = true;
	prev = v;
	v = tick(&m, t, tree, &rc);
	CHECK(v >= prev);
	mp(&m, 105)->garbage = false;
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_U64(v, base);

	/* root exit: reaped by init; -ESRCH, the value stays */
	reap(&m, 105, true);
	reap(&m, 100, false);
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_INT(rc, -ESRCH);
	CHECK_EQ_U64(v, base);
	CHECK(!jpu_tree_alive(tree));

	/* reroot on a restarted kernel that already has 50 ticks: they are
	 * its start-up, counted from now on only */
	spawn(&m, 300, 1, 50, 800);
	write_model(&m);
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_tree_reroot(tree, 300), 0);
	CHECK_EQ_INT(jpu_tree_reroot(tree, 31337), -ESRCH);
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_U64(v, base);
	CHECK_EQ_INT(jpu_tree_root(tree), 300);
	mp(&m, 300)->u = 60;
	spawn(&m, 301, 300, 2, 900);
	v = tick(&m, t, tree, &rc);
	CHECK_EQ_U64(v, base + 10 + 2);
	CHECK(jpu_tree_contains(tree, 301));
	CHECK(!jpu_tree_contains(tree, 103));
out:
	jpu_tree_free(tree);
	jpu_proctab_free(t);
	model_fini(&m);
}

static void test_tree_story(void)
{
	story(false);
	story(true);
}

/* ---- users -------------------------------------------------------------- */

static void chown_pid(struct model *m, int pid, uid_t uid)
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/%d", m->dir, pid);
	if (chown(path, uid, 0) < 0)
		perror(path);
}

static void test_user_procfs(void)
{
	struct jpu_proctab *t = NULL;
	struct jpu_user *u = NULL;
	uint64_t ticks = 0, rss = 0;
	struct model m;

	model_init(&m, false);
	spawn(&m, 10, 1, 100, 10); /* root's sshd */
	spawn(&m, 20, 10, 7, 20);  /* bob's shell */
	spawn(&m, 21, 20, 5, 30);  /* bob's job */
	write_model(&m);
	chown_pid(&m, 20, 4321);
	chown_pid(&m, 21, 4321);
	CHECK_EQ_INT(jpu_proctab_new(m.fd, -1, NULL, &t), 0);
	if (!t)
		goto out;
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_user_new(t, 4321, &u), 0);
	if (!u)
		goto out;
	CHECK_STR(jpu_user_method(u), "procfs");
	CHECK_EQ_INT(jpu_user_update(u, &ticks, &rss), 0);
	CHECK_EQ_U64(ticks, 12);
	CHECK_EQ_U64(rss, 20 * (uint64_t)sysconf(_SC_PAGESIZE));
	CHECK(jpu_user_contains(u, 21));
	CHECK(!jpu_user_contains(u, 10));

	/* a new process of bob: the lazy pass finds it within
	 * USER_SCAN_TICKS (10) ticks */
	spawn(&m, 22, 20, 1, 40);
	for (int i = 0; i < 10; i++) {
		write_model(&m);
		chown_pid(&m, 22, 4321);
		CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
		CHECK_EQ_INT(jpu_user_update(u, &ticks, &rss), 0);
	}
	CHECK_EQ_U64(ticks, 13);
	CHECK(jpu_user_contains(u, 22));
	mp(&m, 21)->u = 9;
	reap(&m, 21, true);
	write_model(&m);
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_user_update(u, &ticks, &rss), 0);
	CHECK_EQ_U64(ticks, 7 + 9 + 1);
	/* the shell is reaped by root's sshd, outside the user: kept */
	reap(&m, 20, true);
	write_model(&m);
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_user_update(u, &ticks, &rss), 0);
	CHECK_EQ_U64(ticks, 17);
	CHECK_EQ_U64(rss, 10 * (uint64_t)sysconf(_SC_PAGESIZE));
out:
	jpu_user_free(u);
	jpu_proctab_free(t);
	model_fini(&m);
}

/* One tick of a user scope over the model; checks the value never
 * decreases. */
static uint64_t utick(struct model *m, struct jpu_proctab *t, struct jpu_user *u, uint64_t *prev)
{
	uint64_t ticks = 0, rss = 0;

	write_model(m);
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_user_update(u, &ticks, &rss), 0);
	CHECK(ticks >= *prev);
	*prev = ticks;
	return ticks;
}

/* Lazy discovery: the global pass runs every 10th tick (USER_SCAN_TICKS in
 * lib/proc/proctab.c; the fixture is not a real /proc, so no duty-cycle limit), and
 * at once when a member reaps a child it did not know. */
static void user_lazy(bool children)
{
	const uid_t bob = 4321;
	struct jpu_proctab *t = NULL;
	struct jpu_user *u = NULL;
	uint64_t v, prev = 0, v0;
	struct mproc *p1, *p30, *p31, *p50;
	struct model m;
	int k;

	model_init(&m, children);
	p1 = &m.p[0];
	spawn(&m, 10, 1, 100, 10);           /* root's sshd */
	spawn(&m, 20, 10, 7, 20)->uid = bob; /* bob's shell */
	spawn(&m, 21, 20, 5, 30)->uid = bob; /* bob's job */
	p50 = spawn(&m, 50, 20, 40, 35);     /* root's, under bob's shell */
	write_model(&m);
	CHECK_EQ_INT(jpu_proctab_new(m.fd, -1, NULL, &t), 0);
	if (!t)
		goto out;
	CHECK(jpu_proctab_children(t) == children);
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_user_new(t, bob, &u), 0);
	if (!u)
		goto out;
	v0 = utick(&m, t, u, &prev);
	CHECK_EQ_U64(v0, 12);

	/* a new login of bob (parent root's sshd): no member's child, so only
	 * the pass finds it, 10 ticks after the one at creation; it counts
	 * from zero, the 9 ticks before it was found included */
	p30 = spawn(&m, 30, 10, 0, 1000);
	p30->uid = bob;
	for (k = 2; k < 10; k++) {
		p30->u += 1;
		v = utick(&m, t, u, &prev);
		CHECK_EQ_U64(v, v0);
		CHECK(!jpu_user_contains(u, 30));
	}
	p30->u += 1;
	v = utick(&m, t, u, &prev);
	CHECK(jpu_user_contains(u, 30));
	CHECK_EQ_U64(v, v0 + 9);

	/* 22 lives entirely between two passes and is reaped by the shell:
	 * its 7 arrive in the shell's cutime. Its sibling 23 is still alive:
	 * the unexplained reap makes the shell's children be looked at now
	 * (or a pass run now), and 23 counts its whole life */
	spawn(&m, 22, 20, 7, 1100)->uid = bob;
	spawn(&m, 23, 20, 4, 1100)->uid = bob;
	v = utick(&m, t, u, &prev);
	CHECK_EQ_U64(v, v0 + 9);
	CHECK(!jpu_user_contains(u, 23));
	reap(&m, 22, true);
	v = utick(&m, t, u, &prev);
	CHECK_EQ_U64(v, v0 + 9 + 7 + 4);
	CHECK(jpu_user_contains(u, 23));
	CHECK(!jpu_user_contains(u, 22));

	/* 41 of bob lives entirely between passes under 40 of root (sudo)
	 * under the shell, and is reaped by 40: never seen, and counted once,
	 * when the shell reaps 40 (40's 1 + 41's 6 in its cutime) */
	spawn(&m, 40, 20, 1, 1200);
	spawn(&m, 41, 40, 6, 1210)->uid = bob;
	v = utick(&m, t, u, &prev);
	CHECK_EQ_U64(v, v0 + 20);
	reap(&m, 41, true);
	v = utick(&m, t, u, &prev);
	CHECK_EQ_U64(v, v0 + 20);
	CHECK(!jpu_user_contains(u, 40));
	reap(&m, 40, true);
	v = utick(&m, t, u, &prev);
	CHECK_EQ_U64(v, v0 + 20 + 7);
	/* and a known member reaped by a non-member (init, after its parent
	 * 30 went) keeps its last value, once */
	p31 = spawn(&m, 31, 30, 2, 1300);
	p31->uid = bob;
	for (k = 0; k < 10; k++)
		v = utick(&m, t, u, &prev);
	CHECK(jpu_user_contains(u, 31));
	CHECK_EQ_U64(v, v0 + 27 + 2);
	reap(&m, 30, false); /* by root's sshd: 30's 9 kept */
	p31->u = 3;
	v = utick(&m, t, u, &prev);
	CHECK_EQ_U64(v, v0 + 27 + 3);
	reap(&m, 31, false);
	p1->cu += 3;
	v = utick(&m, t, u, &prev);
	CHECK_EQ_U64(v, v0 + 27 + 3);
	for (k = 0; k < 10; k++) /* ticks 28-37, a pass at 30 */
		v = utick(&m, t, u, &prev);
	CHECK_EQ_U64(v, v0 + 27 + 3);

	if (children) {
		/* 50 was root's when the user was made and became bob's
		 * (setuid) since: it started before, so it counts from when
		 * it is found, not its 40 ticks of root's life before. The
		 * shell reaping an unknown child makes its children read
		 * (ticks 38 and 39: before the next pass). */
		v0 = v;
		p50->uid = bob;
		spawn(&m, 24, 20, 2, 1400)->uid = bob;
		v = utick(&m, t, u, &prev);
		reap(&m, 24, true);
		v = utick(&m, t, u, &prev);
		CHECK(jpu_user_contains(u, 50));
		CHECK_EQ_U64(v, v0 + 2);
		p50->u += 5;
		v = utick(&m, t, u, &prev);
		CHECK_EQ_U64(v, v0 + 2 + 5);
		/* and when it exits, reaped by the shell, only those 5 stay */
		reap(&m, 50, true);
		v = utick(&m, t, u, &prev);
		CHECK_EQ_U64(v, v0 + 2 + 5);
	}
out:
	jpu_user_free(u);
	jpu_proctab_free(t);
	model_fini(&m);
}

static void test_user_lazy(void)
{
	user_lazy(false);
	user_lazy(true);
}

static void test_user_cgroup(void)
{
	char sys[64];
	struct jpu_proctab *t = NULL;
	struct jpu_user *u = NULL;
	uint64_t ticks = 0, rss = 0, tck = (uint64_t)jpu_clk_tck();
	struct model m;
	int sfd;

	model_init(&m, false);
	mk_tmp(sys, sizeof sys);
	sfd = open_dir(sys);
	CHECK_EQ_INT(jpu_proctab_new(m.fd, sfd, NULL, &t), 0);
	if (!t)
		goto out;

	/* v1: cpuacct.usage in ns and memory.usage_in_bytes */
	put(sys, "fs/cgroup/cpuacct/user.slice/user-1000.slice/cpuacct.usage", "2500000000\n");
	put(sys, "fs/cgroup/memory/user.slice/user-1000.slice/memory.usage_in_bytes", "1048576\n");
	CHECK_EQ_INT(jpu_user_new(t, 1000, &u), 0);
	if (u) {
		CHECK_STR(jpu_user_method(u), "cgroup1");
		CHECK_EQ_INT(jpu_user_update(u, &ticks, &rss), 0);
		CHECK_EQ_U64(ticks, 25 * tck / 10);
		CHECK_EQ_U64(rss, 1048576);
		put(sys, "fs/cgroup/cpuacct/user.slice/user-1000.slice/cpuacct.usage",
		    "3500000000\n");
		CHECK_EQ_INT(jpu_user_update(u, &ticks, &rss), 0);
		CHECK_EQ_U64(ticks, 35 * tck / 10);
		/* the slice was removed and made again: counts on from there */
		put(sys, "fs/cgroup/cpuacct/user.slice/user-1000.slice/cpuacct.usage",
		    "1000000000\n");
		CHECK_EQ_INT(jpu_user_update(u, &ticks, &rss), 0);
		CHECK_EQ_U64(ticks, 45 * tck / 10);
		/* garbage: an error, the value is not touched */
		put(sys, "fs/cgroup/cpuacct/user.slice/user-1000.slice/cpuacct.usage", "x\n");
		ticks = 7;
		CHECK_EQ_INT(jpu_user_update(u, &ticks, &rss), -EBADMSG);
		CHECK_EQ_U64(ticks, 7);
		u = jpu_user_free(u);
	}

	/* v2: cpu.stat usage_usec and memory.current */
	put(sys, "fs/cgroup/user.slice/user-1001.slice/cpu.stat",
	    "usage_usec 1230000\nuser_usec 1000000\nsystem_usec 230000\n");
	put(sys, "fs/cgroup/user.slice/user-1001.slice/memory.current", "4096\n");
	CHECK_EQ_INT(jpu_user_new(t, 1001, &u), 0);
	if (u) {
		CHECK_STR(jpu_user_method(u), "cgroup2");
		CHECK_EQ_INT(jpu_user_update(u, &ticks, &rss), 0);
		CHECK_EQ_U64(ticks, 123 * tck / 100);
		CHECK_EQ_U64(rss, 4096);
		CHECK(!jpu_user_contains(u, 1)); /* /proc/1 of the model is root's */
		u = jpu_user_free(u);
	}

	/* a cgroup file with garbage from the start is no cgroup */
	put(sys, "fs/cgroup/user.slice/user-1002.slice/cpu.stat", "usage_usec -1\n");
	CHECK_EQ_INT(jpu_user_new(t, 1002, &u), 0);
	if (u)
		CHECK_STR(jpu_user_method(u), "procfs");
out:
	jpu_user_free(u);
	jpu_proctab_free(t);
	close(sfd);
	rm_rf(sys);
	model_fini(&m);
}

/* ---- live, on the real /proc -------------------------------------------- */

static void burn_ms(long ms)
{
	struct timespec a, b;
	volatile uint64_t x = 0;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	do {
		for (int i = 0; i < 100000; i++)
			x += (uint64_t)i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
	(void)x; /* clang: set but not used; volatile keeps the loop */
}

static void live(bool children)
{
	struct jpu_proctab *t = NULL;
	struct jpu_tree *tree = NULL;
	uint64_t t0 = 0, t1 = 0, t2 = 0, rss = 0;
	long tck = jpu_clk_tck();
	int fd = open_dir("/proc"), status, pfd[2];
	pid_t child;
	char c;

	CHECK_EQ_INT(jpu_proctab_new(fd, -1, NULL, &t), 0);
	if (!t)
		goto out;
	jpu_proctab_set_children(t, children && jpu_proctab_children(t));
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_tree_new(t, getpid(), &tree), 0);
	if (!tree)
		goto out;
	CHECK_EQ_INT(jpu_tree_update(tree, &t0, &rss), 0);
	CHECK(rss > 0);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		goto out;
	child = fork();
	if (child == 0) {
		/* a grandchild burns too, and is reaped by the child */
		pid_t g = fork();

		if (g == 0) {
			burn_ms(150);
			_exit(0);
		}
		burn_ms(150);
		waitpid(g, NULL, 0);
		/* done: CPU time is load-independent, wall time is not */
		if (write(pfd[1], "x", 1) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	usleep(20000);
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_tree_update(tree, &t1, &rss), 0);
	CHECK(jpu_tree_contains(tree, child));
	CHECK_EQ_INT(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_tree_update(tree, &t1, &rss), 0);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_tree_update(tree, &t2, &rss), 0);
	CHECK(!jpu_tree_contains(tree, child));
	/* 300 ms of CPU in ticks, and the reap kept it */
	CHECK_NEAR((double)(t1 - t0), 0.3 * (double)tck, 0.1 * (double)tck);
	CHECK(t2 >= t1);
	CHECK_NEAR((double)(t2 - t0), 0.3 * (double)tck, 0.1 * (double)tck);
	printf("live (%s): +%" PRIu64 " ticks while running, +%" PRIu64 " after reap (%ld/s)\n",
	       children ? "children files" : "global scan", t1 - t0, t2 - t0, tck);
out:
	jpu_tree_free(tree);
	jpu_proctab_free(t);
	close(fd);
}

/* A uid's processes summed from the real /proc (no user slice for this
 * uid here): a process of that uid burns 200 ms; then it is killed and
 * reaped by us (another uid): its time stays in the sum. meson:
 * procfs_live_user; SKIP where the test cannot setuid. */
static int live_user(void)
{
	const uid_t uid = 4244;
	struct jpu_proctab *t = NULL;
	struct jpu_user *u = NULL;
	uint64_t t0 = 0, t1 = 0, t2 = 0, rss = 0;
	long tck = jpu_clk_tck();
	int fd = open_dir("/proc"), go[2], done[2];
	pid_t child;
	char c;

	if (getuid() != 0) {
		close(fd);
		return check_skip("live user: needs root to setuid");
	}
	CHECK_EQ_INT(jpu_proctab_new(fd, -1, NULL, &t), 0);
	if (!t || pipe2(go, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0)
		goto out;
	child = fork();
	if (child == 0) {
		if (setuid(uid) < 0 || read(go[0], &c, 1) != 1)
			_exit(1);
		burn_ms(200);
		if (write(done[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(go[0]);
	close(done[1]);
	usleep(20000);
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_user_new(t, uid, &u), 0);
	if (!u)
		goto kill;
	CHECK_STR(jpu_user_method(u), "procfs");
	CHECK_EQ_INT(jpu_user_update(u, &t0, &rss), 0);
	CHECK(rss > 0);
	CHECK(jpu_user_contains(u, child));
	CHECK(!jpu_user_contains(u, getpid()));
	CHECK(write(go[1], "x", 1) == 1);
	CHECK_EQ_INT(read(done[0], &c, 1), 1);
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_user_update(u, &t1, &rss), 0);
	CHECK_NEAR((double)(t1 - t0), 0.2 * (double)tck, 0.1 * (double)tck);
kill:
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (u) {
		CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
		CHECK_EQ_INT(jpu_user_update(u, &t2, &rss), 0);
		CHECK(!jpu_user_contains(u, child));
		CHECK(t2 >= t1); /* reaped by root, outside the user: kept */
		CHECK_EQ_U64(rss, 0);
		printf("live user: +%" PRIu64 " ticks while running, +%" PRIu64
		       " after reap (%ld/s)\n",
		       t1 - t0, t2 - t0, tck);
	}
	close(go[1]);
	close(done[0]);
out:
	jpu_user_free(u);
	jpu_proctab_free(t);
	close(fd);
	return 0;
}

/* The member fd budget follows RLIMIT_NOFILE (lib/proc/proctab.c): the
 * usual 1024 keeps what a table always kept (256), a daemon that raised its
 * limit keeps far more, a small limit only a quarter of it. */
static void test_fd_budget(void)
{
	struct rlimit old, rl;

	if (getrlimit(RLIMIT_NOFILE, &old) < 0)
		return;
	rl = old;
	rl.rlim_cur = 1024;
	if (rl.rlim_max < 4096 || setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		printf("fd budget: hard RLIMIT_NOFILE below 4096, not checked\n");
		return;
	}
	CHECK_EQ_INT((int)jpu_proc_fd_budget(), 256);
	rl.rlim_cur = 4096;
	CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &rl), 0);
	CHECK_EQ_INT((int)jpu_proc_fd_budget(), (4096 - 512) / 2);
	rl.rlim_cur = 200;
	CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &rl), 0);
	CHECK_EQ_INT((int)jpu_proc_fd_budget(), 50);
	rl.rlim_cur = rl.rlim_max;
	CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &rl), 0);
	CHECK(jpu_proc_fd_budget() <= 65536);
	setrlimit(RLIMIT_NOFILE, &old);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* A process with the given pid (clone3's set_tid, Linux 5.5, root in this
 * pid namespace) that burns ms of CPU, then waits for a signal. 0 when the
 * kernel would not give that pid. */
static pid_t spawn_with_pid(pid_t pid, long ms)
{
	struct clone_args ca = {.exit_signal = SIGCHLD};
	pid_t want = pid, r = -1;

	ca.set_tid = (uint64_t)(uintptr_t)&want;
	ca.set_tid_size = 1;
	/* the number is freed a little after the task stops answering
	 * kill(pid, 0): EEXIST until then */
	for (int i = 0; i < 100; i++) {
		r = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
		if (r == 0) {
			burn_ms(ms);
			pause();
			_exit(0);
		}
		if (r > 0 || errno != EEXIST)
			break;
		usleep(10000);
	}
	if (r < 0)
		printf("clone3 set_tid %d: %s\n", (int)pid, strerror(errno));
	return r < 0 ? 0 : r;
}

/* The real /proc, where members keep their PID/stat open: with a raised
 * RLIMIT_NOFILE a tree of 400 processes keeps all 400 open (the fixed
 * budget kept 256 and re-opened the rest every tick), and a kept fd of a
 * member that exited is not read as the new process that reuses its pid
 * (a kept /proc/PID/stat reads ESRCH once its task is gone; the start time
 * is compared too). meson: procfs_kept_fds; SKIP without root. */
static int live_kept_fds(void)
{
	enum { N = 400 };
	struct rlimit old, rl;
	struct jpu_proctab *t = NULL;
	struct jpu_tree *tree = NULL;
	uint64_t t0 = 0, t1 = 0, rss = 0;
	long tck = jpu_clk_tck();
	int fd = -1, fds0, go[2];
	pid_t root = -1, victim = -1, reuse = 0;
	char c;

	if (getuid() != 0)
		return check_skip("kept fds: needs root to choose a pid (clone3 set_tid)");
	if (getrlimit(RLIMIT_NOFILE, &old) < 0 || old.rlim_max < 4096)
		return check_skip("kept fds: hard RLIMIT_NOFILE below 4096");
	rl = old;
	rl.rlim_cur = 4096;
	CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &rl), 0);
	fd = open_dir("/proc");
	CHECK(pipe2(go, O_CLOEXEC) == 0);
	/* root forks N sleeping children, then says so */
	root = fork();
	if (root == 0) {
		close(go[0]);
		signal(SIGCHLD, SIG_IGN); /* children reaped as they exit */
		setpgid(0, 0);            /* one group, ended at once */
		for (int i = 0; i < N; i++) {
			pid_t k = fork();

			if (k == 0) {
				pause();
				_exit(0);
			}
			if (k < 0)
				_exit(1);
			if (i == 0 && write(go[1], &k, sizeof k) != sizeof k)
				_exit(1);
		}
		if (write(go[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(go[1]);
	CHECK(read(go[0], &victim, sizeof victim) == sizeof victim);
	CHECK(read(go[0], &c, 1) == 1);
	close(go[0]);
	CHECK_EQ_INT(jpu_proctab_new(fd, -1, NULL, &t), 0);
	if (!t)
		goto out;
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_tree_new(t, root, &tree), 0);
	if (!tree)
		goto out;
	fds0 = count_fds();
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	CHECK_EQ_INT(jpu_tree_update(tree, &t0, &rss), 0);
	CHECK(jpu_tree_contains(tree, victim));
	/* every member (root + N children) keeps its stat open */
	CHECK(count_fds() - fds0 >= N);
	printf("kept fds: %d for %d members\n", count_fds() - fds0, N + 1);

	/* the victim exits (root ignores SIGCHLD: no zombie holds the pid),
	 * and its pid goes to a process outside the tree that burns CPU */
	kill(victim, SIGKILL);
	for (int i = 0; i < 500 && kill(victim, 0) == 0; i++)
		usleep(10000);
	reuse = spawn_with_pid(victim, 300);
	if (!reuse) {
		printf("kept fds: the kernel did not give pid %d again; reuse not checked\n",
		       (int)victim);
		goto out;
	}
	usleep(400000);
	CHECK_EQ_INT(jpu_proctab_refresh(t), 0);
	(void)jpu_tree_update(tree, &t1, &rss);
	/* the new process is not the old member: neither in the tree nor in
	 * its time (300 ms would be 0.3 * tck ticks) */
	CHECK(!jpu_tree_contains(tree, reuse));
	CHECK((double)(t1 - t0) < 0.1 * (double)tck);
	printf("kept fds: pid %d reused, tree +%" PRIu64 " ticks\n", (int)reuse, t1 - t0);
out:
	if (reuse > 0) {
		kill(reuse, SIGKILL);
		waitpid(reuse, NULL, 0);
	}
	if (root > 0) {
		/* root and its children are one process group */
		kill(-root, SIGKILL);
		kill(root, SIGKILL);
		waitpid(root, NULL, 0);
	}
	jpu_tree_free(tree);
	jpu_proctab_free(t);
	if (fd >= 0)
		close(fd);
	setrlimit(RLIMIT_NOFILE, &old);
	return 0;
}

static void test_live(void)
{
	struct jpu_host_cpu h = {0};
	uint64_t total = 0, used = 0;
	int fd = open_dir("/proc");

	CHECK_EQ_INT(jpu_proc_host_cpu(fd, &h), 0);
	CHECK(h.ncpu >= 1 && h.all_ticks >= h.busy_ticks && h.busy_ticks > 0);
	CHECK_EQ_INT(jpu_proc_meminfo(fd, &total, &used), 0);
	CHECK(total > 0 && used <= total);
	close(fd);
	live(true);
	live(false);
}

int main(int argc, char **argv)
{
	/* a process of another uid is a test of its own (meson: procfs_live_user) */
	if (argc > 1 && strcmp(argv[1], "--live-user") == 0)
		return check_part_end(live_user());
	if (argc > 1 && strcmp(argv[1], "--kept-fds") == 0)
		return check_part_end(live_kept_fds());
	/* fixture processes of other uids: a test of their own (meson:
	 * procfs_fixture_uids) */
	if (argc > 1 && strcmp(argv[1], "--fixture-uids") == 0) {
		if (geteuid() != 0)
			return check_part_end(check_skip(
			        "not root: fixture processes cannot belong to other uids"));
		test_user_procfs();
		test_user_lazy();
		return check_summary();
	}
	if (argc > 1)
		return check_bad_part(argv[1]);
	test_parse_pid_stat();
	test_host_cpu();
	test_fd_budget();
	test_fixture_tree();
	test_tree_story();
	test_user_cgroup();
	test_live();
	return check_summary();
}
