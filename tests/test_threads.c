/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The engine's calls from several threads at once, as the Jupyter server
 * makes them: the event loop tracks kernels and reads snapshots while the
 * sampler thread ticks. Checks that jpu_track()/jpu_untrack() never wait
 * for a tick in progress (a tick is held inside its clock hook), that
 * jpu_engine_wait() wakes when a sample is published rather than at a
 * polling step, and drives every call from several threads while the
 * sampler runs, for ThreadSanitizer (the TSan build in .ci/run) to watch.
 * CHECK() is not thread-safe: threads record results, main checks them.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tree_files.h"
#include "engine.h"

/* ---- a synthetic machine: fake sensor domains and a throw-away /proc ---- */

struct world {
	char dir[64], sys[96], proc[96];
};

static void w_stat(struct world *w, unsigned long long busy, unsigned long long idle)
{
	char buf[256];

	snprintf(buf, sizeof buf,
	         "cpu  %llu 0 0 %llu 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n"
	         "cpu1 0 0 0 0 0 0 0 0 0 0\nbtime 1\n",
	         busy, idle);
	world_put(w->proc, "stat", buf);
}

static void w_proc(struct world *w, int pid, unsigned long long utime)
{
	char rel[64], buf[512];

	snprintf(rel, sizeof rel, "%d/stat", pid);
	snprintf(buf, sizeof buf,
	         "%d (p%d) S 1 %d %d 0 -1 0 0 0 0 0 %llu 0 0 0 20 0 1 0 %d 1000 4 0\n", pid, pid,
	         pid, pid, utime, pid);
	world_put(w->proc, rel, buf);
	snprintf(rel, sizeof rel, "%d/status", pid);
	world_put(w->proc, rel, "Uid:\t0\t0\t0\t0\n");
}

static void w_energy(struct world *w, unsigned long long uj)
{
	char buf[64];

	snprintf(buf, sizeof buf, "package p0 energy_uj=%llu\n", uj);
	world_put(w->sys, "fake/domains", buf);
}

static void w_init(struct world *w)
{
	snprintf(w->dir, sizeof w->dir, "/tmp/jpu-test-threads-XXXXXX");
	if (!mkdtemp(w->dir)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(w->sys, sizeof w->sys, "%s/sys", w->dir);
	snprintf(w->proc, sizeof w->proc, "%s/proc", w->dir);
	mkdir(w->sys, 0755);
	mkdir(w->proc, 0755);
	w_stat(w, 1000, 1000);
	world_put(w->proc, "meminfo", "MemTotal: 4096 kB\nMemFree: 1 kB\nMemAvailable: 2048 kB\n");
	w_energy(w, 0);
}

static void w_fini(struct world *w)
{
	nftw(w->dir, world_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static jpu_engine *w_engine(struct world *w, uint64_t interval_usec, const char *state)
{
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_engine *e = NULL;

	o.sysfs_root = w->sys;
	o.procfs_root = w->proc;
	o.sensors = "fake";
	o.interval_usec = interval_usec;
	o.history_len = 16;
	o.state_file = state;
	CHECK_EQ_INT(jpu_engine_new(&o, &e), 0);
	return e;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void sleep_usec(uint64_t usec)
{
	struct timespec ts = {(time_t)(usec / 1000000), (long)(usec % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

/* ---- clocks a test can stop a tick in: the tick reads the monotonic
 * clock first, with sample_lock held ---- */

static pthread_mutex_t clk_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t clk_cv = PTHREAD_COND_INITIALIZER;
static uint64_t clk_mono = 1000000, clk_real = 1795600000000000ULL;
static bool clk_hold, clk_held;

static uint64_t hold_mono(void)
{
	uint64_t t;

	pthread_mutex_lock(&clk_mu);
	if (clk_hold) {
		clk_held = true;
		pthread_cond_broadcast(&clk_cv);
		while (clk_hold)
			pthread_cond_wait(&clk_cv, &clk_mu);
	}
	t = clk_mono;
	pthread_mutex_unlock(&clk_mu);
	return t;
}

static uint64_t hold_real(void)
{
	uint64_t t;

	pthread_mutex_lock(&clk_mu);
	t = clk_real;
	pthread_mutex_unlock(&clk_mu);
	return t;
}

static void clk_advance(uint64_t usec)
{
	pthread_mutex_lock(&clk_mu);
	clk_mono += usec;
	clk_real += usec;
	pthread_mutex_unlock(&clk_mu);
}

/* Wait (at most timeout) until *flag; returns it. */
static bool wait_flag(bool *flag, uint64_t timeout_usec)
{
	uint64_t end = now_usec() + timeout_usec;
	bool v;

	pthread_mutex_lock(&clk_mu);
	while (!*flag && now_usec() < end) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&clk_cv, &clk_mu, &ts);
	}
	v = *flag;
	pthread_mutex_unlock(&clk_mu);
	return v;
}

static void *sample_main(void *arg)
{
	jpu_engine_sample(arg);
	return NULL;
}

struct track_call {
	jpu_engine *e;
	int r_track, r_gone, r_untrack, r_json;
	char *json;
	bool done;
};

static void *track_main(void *arg)
{
	struct track_call *c = arg;

	c->r_track = jpu_track(c->e, 300, "kernel");
	c->r_gone = jpu_track(c->e, 99999, "gone");
	c->r_json = jpu_tracked_json(c->e, &c->json);
	c->r_untrack = jpu_untrack(c->e, "other");
	pthread_mutex_lock(&clk_mu);
	c->done = true;
	pthread_cond_broadcast(&clk_cv);
	pthread_mutex_unlock(&clk_mu);
	return NULL;
}

/* jpu_track() and jpu_untrack() from the event loop return while a tick is
 * in progress (on the sampler's /proc scan or state-file write); the tick
 * takes the request up and the semantics of jpu.h hold: -ESRCH at once,
 * energy from zero at the call, a re-tracked tag keeps its total. */
static void test_track_during_tick(void)
{
	struct world w;
	struct track_call c = {0};
	pthread_t ts, tt;
	char state[128], *j = NULL;
	unsigned long long busy = 1000, idle = 1000, ut = 0;
	bool done;

	w_init(&w);
	w_proc(&w, 300, 0);
	snprintf(state, sizeof state, "%s/state", w.dir);
	c.e = w_engine(&w, 0, state);
	if (!c.e)
		return;
	jpu_engine_set_clocks(c.e, hold_mono, hold_real);
	CHECK_EQ_INT(jpu_track(c.e, 300, "other"), 0);
	CHECK_EQ_INT(jpu_engine_sample(c.e), 0); /* baseline */

	/* a tick stopped inside sample_lock */
	pthread_mutex_lock(&clk_mu);
	clk_hold = true;
	clk_held = false;
	pthread_mutex_unlock(&clk_mu);
	clk_advance(1000000);
	pthread_create(&ts, NULL, sample_main, c.e);
	CHECK(wait_flag(&clk_held, 5000000));
	pthread_create(&tt, NULL, track_main, &c);
	done = wait_flag(&c.done, 2000000);
	CHECK(done); /* not behind the tick */
	pthread_mutex_lock(&clk_mu);
	clk_hold = false;
	pthread_cond_broadcast(&clk_cv);
	pthread_mutex_unlock(&clk_mu);
	pthread_join(ts, NULL);
	pthread_join(tt, NULL);
	CHECK_EQ_INT(c.r_track, 0);
	CHECK_EQ_INT(c.r_gone, -ESRCH);
	CHECK_EQ_INT(c.r_untrack, 0);
	CHECK_EQ_INT(c.r_json, 0);
	/* listed at once, alive, nothing counted yet */
	CHECK(c.json && strstr(c.json, "{\"tag\":\"kernel\",\"pid\":300,\"alive\":true,\"power_w\":"
	                               "0.000000,\"energy_j\":{\"cpu\":0.000000") != NULL);
	CHECK(c.json && !strstr(c.json, "\"gone\""));
	free(c.json);

	/* 20 W, host busy half the time, the kernel half the busy time: 5 W
	 * in each interval after the tick that took the request up (the held
	 * one), so 10 J: nothing from before the call */
	for (int i = 1; i <= 2; i++) {
		clk_advance(1000000);
		busy += 100;
		idle += 100;
		ut += 50;
		w_stat(&w, busy, idle);
		w_proc(&w, 300, ut);
		w_energy(&w, (unsigned long long)i * 20000000);
		CHECK_EQ_INT(jpu_engine_sample(c.e), 1);
	}
	CHECK_EQ_INT(jpu_tracked_json(c.e, &j), 0);
	CHECK(j &&
	      strstr(j, "{\"tag\":\"kernel\",\"pid\":300,\"alive\":true,\"power_w\":5.000000") !=
	              NULL);
	CHECK(j && strstr(j, "\"total\":10.000000") != NULL);
	free(j);

	/* a restarted kernel: same tag, new pid, the total carries on */
	w_proc(&w, 301, 0);
	CHECK_EQ_INT(jpu_track(c.e, 301, "kernel"), 0);
	ut = 0;
	for (int i = 3; i <= 5; i++) {
		clk_advance(1000000);
		busy += 100;
		idle += 100;
		ut += 50;
		w_stat(&w, busy, idle);
		w_proc(&w, 301, ut);
		w_energy(&w, (unsigned long long)i * 20000000);
		CHECK_EQ_INT(jpu_engine_sample(c.e), 1);
	}
	CHECK_EQ_INT(jpu_tracked_json(c.e, &j), 0);
	/* the tick after the request rebases; two counted intervals follow */
	CHECK(j &&
	      strstr(j, "{\"tag\":\"kernel\",\"pid\":301,\"alive\":true,\"power_w\":5.000000") !=
	              NULL);
	CHECK(j && strstr(j, "\"total\":20.000000") != NULL);
	free(j);

	/* a pid that exits between the call and the next tick: not alive */
	w_proc(&w, 302, 0);
	CHECK_EQ_INT(jpu_track(c.e, 302, "short"), 0);
	{
		char dir[160];

		snprintf(dir, sizeof dir, "%s/302/stat", w.proc);
		remove(dir);
		snprintf(dir, sizeof dir, "%s/302/status", w.proc);
		remove(dir);
		snprintf(dir, sizeof dir, "%s/302", w.proc);
		remove(dir);
	}
	clk_advance(1000000);
	CHECK_EQ_INT(jpu_engine_sample(c.e), 1);
	CHECK_EQ_INT(jpu_tracked_json(c.e, &j), 0);
	CHECK(j && strstr(j, "{\"tag\":\"short\",\"pid\":302,\"alive\":false") != NULL);
	free(j);
	CHECK_EQ_INT(jpu_untrack(c.e, "short"), 0);
	CHECK_EQ_INT(jpu_untrack(c.e, "short"), -ENOENT);
	jpu_engine_free(c.e);
	w_fini(&w);
}

struct waiter {
	jpu_engine *e;
	int n;
	atomic_int ready;  /* the round the waiter is about to wait in */
	uint64_t woke[32]; /* monotonic µs at each return */
	int64_t seq[32];
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	int64_t seq = 0;

	for (int i = 0; i < w->n; i++) {
		atomic_store(&w->ready, i + 1);
		seq = jpu_engine_wait(w->e, seq, 2000000);
		w->woke[i] = now_usec();
		w->seq[i] = seq;
		if (seq < 0)
			break;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A waiter returns when the sample is published, not at the next step of
 * a polling loop: the median delay over 21 samples stays far below a
 * 20 ms poll's ~10 ms. And a timeout is kept on the monotonic clock. */
static void test_wait_wakes_at_publish(void)
{
	struct world w;
	struct waiter wt = {.n = 21};
	uint64_t sent[32], delay[32], t0;
	pthread_t th;
	int64_t r;

	w_init(&w);
	wt.e = w_engine(&w, 0, NULL);
	if (!wt.e)
		return;
	jpu_engine_set_clocks(wt.e, hold_mono, hold_real);
	CHECK_EQ_INT(jpu_engine_sample(wt.e), 0);
	pthread_create(&th, NULL, waiter_main, &wt);
	for (int i = 0; i < wt.n; i++) {
		while (atomic_load(&wt.ready) < i + 1)
			sleep_usec(200);
		sleep_usec(5000); /* inside jpu_engine_wait by now */
		clk_advance(1000000);
		sent[i] = now_usec();
		CHECK_EQ_INT(jpu_engine_sample(wt.e), 1);
	}
	pthread_join(th, NULL);
	for (int i = 0; i < wt.n; i++) {
		CHECK_EQ_INT(wt.seq[i], i + 1);
		delay[i] = wt.woke[i] > sent[i] ? wt.woke[i] - sent[i] : 0;
	}
	qsort(delay, (size_t)wt.n, sizeof *delay, cmp_u64);
	fprintf(stderr, "wait: median delay %llu us, max %llu us\n",
	        (unsigned long long)delay[wt.n / 2], (unsigned long long)delay[wt.n - 1]);
	CHECK(delay[wt.n / 2] < 4000);

	t0 = now_usec();
	r = jpu_engine_wait(wt.e, 1000, 100000);
	CHECK_EQ_INT(r, -ETIMEDOUT);
	CHECK(now_usec() - t0 >= 100000);
	CHECK(now_usec() - t0 < 1000000);
	jpu_engine_free(wt.e);
	w_fini(&w);
}

/* ---- every call from several threads while the sampler runs ---- */

struct stress {
	jpu_engine *e;
	struct world *w;
	atomic_bool stop;
	int id;
	unsigned calls, bad; /* per thread: read by main after the join */
	char what[128];      /* the first unexpected result */
};

static void bad(struct stress *s, const char *what, long long r)
{
	if (!s->bad++)
		snprintf(s->what, sizeof s->what, "%s: %lld", what, r);
}

static void *stress_track(void *arg)
{
	struct stress *s = arg;
	char tag[16];
	int r;

	for (unsigned i = 0; !atomic_load(&s->stop); i++) {
		snprintf(tag, sizeof tag, "k%u", i % 4);
		r = jpu_track(s->e, 300 + (int)(i % 4), tag);
		/* -EBADMSG: a torn read of a stat file rewritten in place
		 * (an engine that parses it on the caller's thread) */
		if (r != 0 && r != -EBADMSG)
			bad(s, "jpu_track", r);
		r = jpu_track(s->e, 99999, "gone");
		if (r != -ESRCH)
			bad(s, "jpu_track(gone)", r);
		if (i % 3 == 0) {
			r = jpu_untrack(s->e, tag);
			if (r != 0 && r != -ENOENT)
				bad(s, "jpu_untrack", r);
		}
		s->calls += 3;
	}
	return NULL;
}

static void *stress_read(void *arg)
{
	struct stress *s = arg;

	while (!atomic_load(&s->stop)) {
		char *t = NULL;
		jpu_summary sum = {.sz = sizeof sum};
		int r;

		r = jpu_tracked_json(s->e, &t);
		if (r != 0 || !t || t[0] != '[')
			bad(s, "jpu_tracked_json", r);
		free(t);
		t = NULL;
		r = jpu_engine_json(s->e, &t);
		if (r != 0 && r != -EAGAIN)
			bad(s, "jpu_engine_json", r);
		free(t);
		t = NULL;
		r = jpu_engine_prometheus(s->e, &t);
		if (r != 0)
			bad(s, "jpu_engine_prometheus", r);
		free(t);
		t = NULL;
		r = jpu_engine_history_json(s->e, 0, &t);
		if (r != 0)
			bad(s, "jpu_engine_history_json", r);
		free(t);
		r = jpu_engine_summary(s->e, &sum);
		if (r != 0)
			bad(s, "jpu_engine_summary", r);
		s->calls += 5;
	}
	return NULL;
}

static void *stress_wait(void *arg)
{
	struct stress *s = arg;
	int64_t seq = 0;

	while (!atomic_load(&s->stop)) {
		int64_t r = jpu_engine_wait(s->e, seq, 50000);

		if (r > seq)
			seq = r;
		else if (r != -ETIMEDOUT)
			bad(s, "jpu_engine_wait", r);
		s->calls++;
	}
	return NULL;
}

static void *stress_sample(void *arg)
{
	struct stress *s = arg;
	jpu_engine_opts c = {.sz = sizeof c};

	c.carbon_provider = "constant";
	for (unsigned i = 0; !atomic_load(&s->stop); i++) {
		int r = jpu_engine_sample(s->e);

		/* the world is rewritten in place: a read may catch a
		 * truncated /proc/stat, which the tick refuses */
		if (r < 0 && r != -EBADMSG)
			bad(s, "jpu_engine_sample", r);
		if (i % 16 == 0) {
			c.intensity_mg_per_kwh = 100000 + i;
			r = jpu_engine_set_carbon(s->e, &c);
			if (r != 0)
				bad(s, "jpu_engine_set_carbon", r);
		}
		sleep_usec(1000);
		s->calls++;
	}
	return NULL;
}

/* start and stop from two threads at once: one sampler thread at most,
 * joined once */
static void *stress_run(void *arg)
{
	struct stress *s = arg;

	for (unsigned i = 0; !atomic_load(&s->stop); i++) {
		int r = i % 2 ? jpu_engine_stop(s->e) : jpu_engine_start(s->e);

		if (r != 0)
			bad(s, i % 2 ? "jpu_engine_stop" : "jpu_engine_start", r);
		sleep_usec(7000);
		s->calls++;
	}
	return NULL;
}

static void test_stress(void)
{
	static void *(*const fns[])(void *) = {stress_track, stress_track, stress_read,
	                                       stress_read,  stress_wait,  stress_sample,
	                                       stress_run,   stress_run};
	enum { N = sizeof fns / sizeof fns[0] };
	struct stress s[N];
	pthread_t th[N];
	struct world w;
	char state[128];
	jpu_engine *e;
	unsigned long long busy = 1000, idle = 1000;

	w_init(&w);
	for (int pid = 300; pid < 304; pid++)
		w_proc(&w, pid, 0);
	snprintf(state, sizeof state, "%s/state", w.dir);
	e = w_engine(&w, 10000, state);
	if (!e)
		return;
	CHECK_EQ_INT(jpu_engine_start(e), 0);
	for (int i = 0; i < N; i++) {
		memset(&s[i], 0, sizeof s[i]);
		s[i].e = e;
		s[i].w = &w;
		s[i].id = i;
		pthread_create(&th[i], NULL, fns[i], &s[i]);
	}
	/* the machine moves under the sampler: counters and CPU times */
	for (int i = 1; i <= 300; i++) {
		busy += 10;
		idle += 10;
		w_stat(&w, busy, idle);
		for (int pid = 300; pid < 304; pid++)
			w_proc(&w, pid, (unsigned long long)i * (unsigned long long)(pid - 299));
		w_energy(&w, (unsigned long long)i * 100000);
		sleep_usec(5000);
	}
	for (int i = 0; i < N; i++)
		atomic_store(&s[i].stop, true);
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		if (s[i].bad)
			fprintf(stderr, "thread %d: %u unexpected results, first %s\n", i, s[i].bad,
			        s[i].what);
		CHECK_EQ_INT(s[i].bad, 0);
		CHECK(s[i].calls > 0);
	}
	CHECK_EQ_INT(jpu_engine_stop(e), 0);
	jpu_engine_free(e);
	w_fini(&w);
}

int main(void)
{
	test_track_during_tick();
	test_wait_wakes_at_publish();
	test_stress();
	return check_summary();
}
