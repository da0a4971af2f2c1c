/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The state file through the public API (lib/state.c): a corrupt or
 * oversized file survives a start byte for byte under a .corrupt- name, one
 * engine per file, durable writes leave no temporary files, any tag byte
 * survives a restart, and 1,000 kernels that come and go leave a bounded
 * file with the totals unchanged. A synthetic machine (the fake backend, a
 * throw-away /proc) and replaced clocks make every figure exact.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "engine.h"

static uint64_t fake_mono = 1000000, fake_real = 1795600000000000ULL;

static uint64_t clock_mono(void)
{
	return fake_mono;
}

static uint64_t clock_real(void)
{
	return fake_real;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *dir, const char *rel, const char *content, size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	for (char *p = path + strlen(dir) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, content, len) != (ssize_t)len)
		perror(path);
	if (fd >= 0)
		close(fd);
}

static void puts_at(const char *dir, const char *rel, const char *content)
{
	put(dir, rel, content, strlen(content));
}

/* The whole file, NUL-terminated; NULL when it cannot be read. */
static char *slurp(const char *path, size_t *ret_len)
{
	struct stat st;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size + 1)) &&
	    read(fd, buf, (size_t)st.st_size) == st.st_size) {
		buf[st.st_size] = '\0';
		*ret_len = (size_t)st.st_size;
	} else {
		free(buf);
		buf = NULL;
	}
	close(fd);
	return buf;
}

struct world {
	char dir[64], sys[96], proc[96], state[96];
	uint64_t busy, idle, energy_uj;
	uint64_t step; /* busy and idle ticks per second */
};

static void w_stat(struct world *w)
{
	char buf[256];

	snprintf(buf, sizeof buf,
	         "cpu  %llu 0 0 %llu 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\nbtime 1\n",
	         (unsigned long long)w->busy, (unsigned long long)w->idle);
	puts_at(w->proc, "stat", buf);
	puts_at(w->proc, "meminfo", "MemTotal: 4096 kB\nMemFree: 1 kB\nMemAvailable: 2048 kB\n");
	snprintf(buf, sizeof buf, "package p0 energy_uj=%llu\n", (unsigned long long)w->energy_uj);
	puts_at(w->sys, "fake/domains", buf);
}

static void w_proc(struct world *w, int pid, uint64_t utime)
{
	char rel[64], buf[512];

	snprintf(rel, sizeof rel, "%d/stat", pid);
	snprintf(buf, sizeof buf,
	         "%d (k%d) S 1 %d %d 0 -1 0 0 0 0 0 %llu 0 0 0 20 0 1 0 %d 1000 0 0\n", pid, pid,
	         pid, pid, (unsigned long long)utime, pid);
	puts_at(w->proc, rel, buf);
	snprintf(rel, sizeof rel, "%d/status", pid);
	puts_at(w->proc, rel, "Uid:\t0\t0\t0\t0\n");
}

static void w_kill(struct world *w, int pid)
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/%d", w->proc, pid);
	rm_tree(path);
}

static void w_init(struct world *w)
{
	char path[128];

	snprintf(w->dir, sizeof w->dir, "/tmp/jpu-test-state-XXXXXX");
	if (!mkdtemp(w->dir)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(w->sys, sizeof w->sys, "%s/sys", w->dir);
	snprintf(w->proc, sizeof w->proc, "%s/proc", w->dir);
	snprintf(w->state, sizeof w->state, "%s/var/state", w->dir);
	mkdir(w->sys, 0755);
	mkdir(w->proc, 0755);
	snprintf(path, sizeof path, "%s/var", w->dir);
	mkdir(path, 0755);
	w->busy = w->idle = 1000;
	w->step = 100;
	w->energy_uj = 0;
	w_stat(w);
}

/* One second: 20 W, half of the CPU time busy. */
static void w_second(struct world *w)
{
	fake_mono += 1000000;
	fake_real += 1000000;
	w->busy += w->step;
	w->idle += w->step;
	w->energy_uj += 20000000;
	w_stat(w);
}

static int w_engine(struct world *w, jpu_engine **ret)
{
	jpu_engine_opts o = {.sz = sizeof o};
	int r;

	o.sysfs_root = w->sys;
	o.procfs_root = w->proc;
	o.sensors = "fake";
	o.history_len = 4;
	o.state_file = w->state[0] ? w->state : NULL;
	*ret = NULL;
	r = jpu_engine_new(&o, ret);
	if (r == 0)
		jpu_engine_set_clocks(*ret, clock_mono, clock_real);
	return r;
}

/* Names in dir starting with prefix; the last one found in ret_name. */
static int count_prefix(const char *dir, const char *prefix, char *ret_name, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
			n++;
			if (ret_name)
				snprintf(ret_name, size, "%s/%s", dir, de->d_name);
		}
	if (d)
		closedir(d);
	return n;
}

static uint64_t scope_energy(jpu_engine *e)
{
	jpu_summary s = {.sz = sizeof s};

	CHECK_EQ_INT(jpu_engine_summary(e, &s), 0);
	return s.energy_uj;
}

/* A file the engine cannot load starts the engine from zero and survives,
 * byte for byte, under <file>.corrupt-<UTC time>; the next save does not
 * touch it. */
static void check_survives(struct world *w, const char *content, size_t len)
{
	char var[128], moved[PATH_MAX], *kept;
	size_t kept_len = 0;
	jpu_engine *e;

	snprintf(var, sizeof var, "%s/var", w->dir);
	rm_tree(var);
	put(w->dir, "var/state", content, len);
	CHECK_EQ_INT(w_engine(w, &e), 0);
	CHECK_EQ_INT(count_prefix(var, "state.corrupt-", moved, sizeof moved), 1);
	kept = slurp(moved, &kept_len);
	CHECK(kept && kept_len == len && memcmp(kept, content, len) == 0);
	free(kept);
	/* fresh totals, saved as a new file beside the kept one */
	jpu_engine_sample(e);
	w_second(w);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_U64(scope_energy(e), 20000000);
	kept = slurp(moved, &kept_len);
	CHECK(kept && kept_len == len && memcmp(kept, content, len) == 0);
	free(kept);
	kept = slurp(w->state, &kept_len);
	CHECK(kept && strncmp(kept, "jpu-state 3\nscope 20000000 ", 27) == 0);
	free(kept);
	jpu_engine_free(e);
	/* a second corrupt file in the same second gets a name of its own */
	put(w->dir, "var/state", content, len);
	CHECK_EQ_INT(w_engine(w, &e), 0);
	CHECK_EQ_INT(count_prefix(var, "state.corrupt-", NULL, 0), 2);
	jpu_engine_free(e);
}

static void test_corrupt_and_oversized(void)
{
	struct world w;
	char *big;

	w_init(&w);
	check_survives(&w, "jpu-state 2\nscope 1 2\n", 22);
	check_survives(&w, "jpu-state 3\nscope 1 2 3 4\ntag 1 2 3 4 5 \n", 40);
	/* larger than any file the engine writes, valid at its start */
	big = malloc(JPU_STATE_MAX_BYTES + 10);
	if (big) {
		memset(big, '\n', JPU_STATE_MAX_BYTES + 10);
		memcpy(big, "jpu-state 2\nscope 1 2 3 4\n", 26);
		check_survives(&w, big, JPU_STATE_MAX_BYTES + 10);
		free(big);
	}
	rm_tree(w.dir);
}

static void test_lock_and_temps(void)
{
	struct world w;
	char var[128];
	jpu_engine *a, *b;

	w_init(&w);
	snprintf(var, sizeof var, "%s/var", w.dir);
	/* a temporary file left by a writer killed between write and rename */
	puts_at(w.dir, "var/state.tmp", "");
	puts_at(w.dir, "var/state.tmp.12345.0", "jpu-state 3\n");
	CHECK_EQ_INT(w_engine(&w, &a), 0);
	CHECK_EQ_INT(count_prefix(var, "state.tmp.", NULL, 0), 0);
	/* a second engine on the file is refused while the first runs */
	CHECK_EQ_INT(w_engine(&w, &b), -EBUSY);
	CHECK(b == NULL);
	jpu_engine_sample(a);
	w_second(&w);
	CHECK_EQ_INT(jpu_engine_sample(a), 1);
	w_second(&w);
	CHECK_EQ_INT(jpu_engine_sample(a), 1);
	/* every write renamed its unique temporary file away */
	CHECK_EQ_INT(count_prefix(var, "state.tmp.", NULL, 0), 0);
	jpu_engine_free(a);
	/* and may start once the first has gone, with its totals */
	CHECK_EQ_INT(w_engine(&w, &b), 0);
	jpu_engine_sample(b);
	w_second(&w);
	CHECK_EQ_INT(jpu_engine_sample(b), 1);
	CHECK_EQ_U64(scope_energy(b), 60000000);
	jpu_engine_free(b);
	rm_tree(w.dir);
}

/* A tag may hold any byte but NUL: a newline must not break the file. */
static void test_tag_bytes_and_version_2(void)
{
	static const char tag[] = "nb \"a\\b\"\n\x01%41 end";
	struct world w;
	jpu_engine *e;
	char *j = NULL, var[128];

	w_init(&w);
	snprintf(var, sizeof var, "%s/var", w.dir);
	w_proc(&w, 300, 0);
	CHECK_EQ_INT(w_engine(&w, &e), 0);
	CHECK_EQ_INT(jpu_track(e, 300, tag), 0);
	jpu_engine_sample(e);
	w_second(&w);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	jpu_engine_free(e);
	CHECK_EQ_INT(w_engine(&w, &e), 0);
	CHECK_EQ_INT(count_prefix(var, "state.corrupt-", NULL, 0), 0);
	CHECK_EQ_INT(jpu_tracked_json(e, &j), 0);
	CHECK(j && strstr(j, "\"tag\":\"nb \\\"a\\\\b\\\"\\u000a\\u0001%41 end\"") != NULL);
	free(j);
	jpu_engine_free(e);

	/* the previous format still loads */
	rm_tree(var);
	puts_at(w.dir, "var/state", "jpu-state 2\nscope 7000000 0 0 5\ntag 10 2 0 1 kernel-1\n");
	CHECK_EQ_INT(w_engine(&w, &e), 0);
	CHECK_EQ_INT(count_prefix(var, "state.corrupt-", NULL, 0), 0);
	jpu_engine_sample(e);
	w_second(&w);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_U64(scope_energy(e), 27000000);
	CHECK_EQ_INT(jpu_tracked_json(e, &j), 0);
	CHECK(j && strstr(j, "\"tag\":\"kernel-1\"") != NULL);
	free(j);
	jpu_engine_free(e);
	rm_tree(w.dir);
}

/* Sum of the energy columns (cpu) of the tag lines and the past line. */
static void file_totals(const char *path, uint64_t *ret_tags_uj, uint64_t *ret_past_uj,
                        uint64_t *ret_past_n, unsigned *ret_n_tags, size_t *ret_len)
{
	size_t len = 0;
	char *text = slurp(path, &len);

	*ret_tags_uj = *ret_past_uj = *ret_past_n = 0;
	*ret_n_tags = 0;
	*ret_len = len;
	for (char *line = text; line && *line;) {
		char *eol = strchr(line, '\n');
		unsigned long long v = 0, n = 0;

		if (eol)
			*eol = '\0';
		if (sscanf(line, "tag %llu", &v) == 1) {
			*ret_tags_uj += v;
			(*ret_n_tags)++;
		} else if (sscanf(line, "past %llu %*u %*u %*u %llu", &v, &n) == 2) {
			*ret_past_uj = v;
			*ret_past_n = n;
		}
		line = eol ? eol + 1 : NULL;
	}
	free(text);
}

/*
 * 1,000 kernels come and go, ten at a time: each is tracked, runs one
 * second with a tenth of the busy CPU time (20 W at a busy ratio of 0.5:
 * 1 W, 1 J), and then either is untracked (odd) or dies without being
 * untracked (even). The file keeps at most JPU_STATE_MAX_DORMANT dormant
 * tags; a week later none; the tags' energy (1,000 J) and the scope's are
 * unchanged throughout.
 */
static void test_bounded(void)
{
	enum { KERNELS = 1000, BATCH = 10 };
	struct world w;
	jpu_engine *e;
	uint64_t tags_uj, past_uj, past_n;
	unsigned n_tags, max_tags = 0, ticks = 1;
	size_t len, max_len = 0;
	char tag[32], *p = NULL;

	w_init(&w);
	w.step = 1000;
	CHECK_EQ_INT(w_engine(&w, &e), 0);
	jpu_engine_sample(e);
	for (int i = 0; i < KERNELS; i += BATCH) {
		for (int k = i; k < i + BATCH; k++) {
			snprintf(tag, sizeof tag, "kernel-%04d", k);
			w_proc(&w, 1000 + k, 0);
			CHECK_EQ_INT(jpu_track(e, 1000 + k, tag), 0);
		}
		w_second(&w);
		jpu_engine_sample(e); /* the trees' baseline */
		w_second(&w);
		for (int k = i; k < i + BATCH; k++)
			w_proc(&w, 1000 + k, 100);
		CHECK_EQ_INT(jpu_engine_sample(e), 1);
		ticks += 2;
		for (int k = i; k < i + BATCH; k++) {
			snprintf(tag, sizeof tag, "kernel-%04d", k);
			if (k % 2)
				CHECK_EQ_INT(jpu_untrack(e, tag), 0);
			w_kill(&w, 1000 + k);
		}
		file_totals(w.state, &tags_uj, &past_uj, &past_n, &n_tags, &len);
		max_tags = n_tags > max_tags ? n_tags : max_tags;
		max_len = len > max_len ? len : max_len;
	}
	w_second(&w);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	ticks++;
	file_totals(w.state, &tags_uj, &past_uj, &past_n, &n_tags, &len);
	CHECK(max_tags <= JPU_STATE_MAX_DORMANT + BATCH);
	CHECK(n_tags <= JPU_STATE_MAX_DORMANT);
	CHECK(max_len < 32768);
	printf("bounded: at most %u tags and %zu bytes in the file after %d kernels\n", max_tags,
	       max_len, KERNELS);
	CHECK_EQ_U64(tags_uj + past_uj, (uint64_t)KERNELS * 1000000);
	CHECK_EQ_U64(past_n + n_tags, KERNELS);
	CHECK_EQ_U64(scope_energy(e), (uint64_t)(ticks - 1) * 20000000);
	CHECK_EQ_INT(jpu_engine_prometheus(e, &p), 0);
	CHECK(p && strstr(p, "tag=\"kernel-0000\"") == NULL); /* folded first */
	free(p);

	/* a week without them: every dormant tag folds, its series goes */
	fake_real += JPU_STATE_DORMANT_USEC;
	w_second(&w);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	file_totals(w.state, &tags_uj, &past_uj, &past_n, &n_tags, &len);
	CHECK_EQ_INT(n_tags, 0);
	CHECK_EQ_U64(past_uj, (uint64_t)KERNELS * 1000000);
	CHECK_EQ_U64(past_n, KERNELS);
	CHECK(len < 200);
	CHECK_EQ_INT(jpu_engine_prometheus(e, &p), 0);
	CHECK(p && strstr(p, "jpu_tracked_energy_joules_total") == NULL);
	free(p);
	jpu_engine_free(e);

	/* and a restart keeps the past totals */
	CHECK_EQ_INT(w_engine(&w, &e), 0);
	jpu_engine_sample(e);
	w_second(&w);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	file_totals(w.state, &tags_uj, &past_uj, &past_n, &n_tags, &len);
	CHECK_EQ_U64(past_uj, (uint64_t)KERNELS * 1000000);
	CHECK_EQ_U64(scope_energy(e), (uint64_t)(ticks + 1) * 20000000);
	jpu_engine_free(e);
	rm_tree(w.dir);
}

/* Without a state file too, a dead tree's tag goes after a week with its
 * series; the live one stays. */
static void test_fold_without_file(void)
{
	struct world w;
	jpu_engine *e;
	char *j = NULL, *p = NULL;

	w_init(&w);
	w.state[0] = '\0';
	w_proc(&w, 300, 0);
	w_proc(&w, 301, 0);
	CHECK_EQ_INT(w_engine(&w, &e), 0);
	CHECK_EQ_INT(jpu_track(e, 300, "dies"), 0);
	CHECK_EQ_INT(jpu_track(e, 301, "lives"), 0);
	jpu_engine_sample(e);
	w_kill(&w, 300);
	w_second(&w);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_tracked_json(e, &j), 0);
	CHECK(j && strstr(j, "\"tag\":\"dies\"") != NULL);
	free(j);
	fake_real += JPU_STATE_DORMANT_USEC;
	w_second(&w);
	CHECK_EQ_INT(jpu_engine_sample(e), 1);
	CHECK_EQ_INT(jpu_tracked_json(e, &j), 0);
	CHECK(j && strstr(j, "\"tag\":\"dies\"") == NULL && strstr(j, "\"tag\":\"lives\""));
	free(j);
	CHECK_EQ_INT(jpu_engine_prometheus(e, &p), 0);
	CHECK(p && strstr(p, "tag=\"dies\"") == NULL && strstr(p, "tag=\"lives\""));
	free(p);
	jpu_engine_free(e);
	rm_tree(w.dir);
}

int main(void)
{
	test_corrupt_and_oversized();
	test_lock_and_temps();
	test_tag_bytes_and_version_2();
	test_bounded();
	test_fold_without_file();
	return check_summary();
}
