/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jpud(8): one measuring engine per node. Reads the root-only energy
 * counters with CAP_DAC_READ_SEARCH alone (started as root, it drops to its
 * own user keeping only that capability, and refuses to stay root), serves
 * every local user their own share over a Unix socket and the node's
 * figures to Prometheus. SIGHUP reloads the configuration keeping every
 * total (through the state file); SIGTERM stops cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "jpu/jpu.h"
#include "scopes.h"
#include "server.h"

#define EXIT_USAGE 2

static int log_max = JPU_LOG_INFO;
static bool to_journal; /* stderr is the journal: say the level as <N> */

static void log_line(int level, const char *msg, void *userdata)
{
	static const char *const names[8] = {"emerg",   "alert",  "crit", "error",
	                                     "warning", "notice", "info", "debug"};

	(void)userdata;
	if (level > log_max)
		return;
	if (to_journal)
		fprintf(stderr, "<%d>%s\n", level & 7, msg);
	else
		fprintf(stderr, "jpud: %s: %s\n", names[level & 7], msg);
}

static void logf_(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_line(level, msg, NULL);
}

/* Keep CAP_DAC_READ_SEARCH (read the 0400 energy counters) and nothing
 * else: no CAP_SYS_ADMIN, no CAP_SETUID after this. */
static int keep_only_dac_read_search(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {{0}};

	/* under systemd (User=, AmbientCapabilities=) it is so already, and
	 * the unit's syscall filter refuses capset */
	if (syscall(SYS_capget, &h, d) == 0 && d[0].permitted == 1u << CAP_DAC_READ_SEARCH &&
	    d[1].permitted == 0 && d[0].effective == d[0].permitted)
		return 0;
	memset(d, 0, sizeof d);
	d[0].effective = d[0].permitted = 1u << CAP_DAC_READ_SEARCH;
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

/* Started as root: become `user`, keeping CAP_DAC_READ_SEARCH. Started as
 * anybody else (systemd's User= with AmbientCapabilities=): drop whatever
 * else it has. Never go on as root. */
static int drop_privileges(const char *user)
{
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam(user);

		if (!pw) {
			logf_(JPU_LOG_ERR,
			      "user %s does not exist: create it (useradd --system "
			      "--no-create-home "
			      "--shell /usr/sbin/nologin %s) or name another with --user; jpud "
			      "does "
			      "not run as root",
			      user, user);
			return -ESRCH;
		}
		if (pw->pw_uid == 0) {
			logf_(JPU_LOG_ERR, "--user %s is root: jpud does not run as root", user);
			return -EPERM;
		}
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
		    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
			return -errno;
	}
	if (keep_only_dac_read_search() < 0) {
		logf_(JPU_LOG_WARNING,
		      "cannot keep CAP_DAC_READ_SEARCH (%s): root-only counters "
		      "will be unreadable",
		      strerror(errno));
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (geteuid() == 0 || getuid() == 0)
		return -EPERM;
	return 0;
}

/* The state file must be writable by the account jpud runs as, or every
 * tick would fail to save and a restart lose the totals: say so at start. */
static int check_state_dir(const char *path)
{
	char dir[4096];
	const char *slash;
	struct passwd *pw;
	int err;

	if (!*path)
		return 0;
	slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash == path ? 1 : slash - path), path);
	/* effective ids and capabilities: CAP_DAC_READ_SEARCH lets the daemon
	 * through folders it could not search otherwise, as the write will */
	if (faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS) == 0)
		return 0;
	err = errno;
	pw = getpwuid(geteuid());
	logf_(JPU_LOG_ERR,
	      "--state-file %s: cannot write in %s as user %s (%s); give the folder to that "
	      "user (systemd: StateDirectory=jpu) or set --state-file \"\" to keep no totals",
	      path, dir, pw ? pw->pw_name : "?", strerror(err));
	return -EACCES;
}

/* Raise the soft RLIMIT_NOFILE towards the hard one: the engine keeps the
 * /proc/PID/stat of every process it follows open while its budget (from
 * this limit, lib/proc/proctab.c) lasts, which turns an open, a read and a
 * close per process and tick into one pread (issue 9: CPU <= 1 % of a core
 * with 1,000 processes). The usual soft limit of 1024 exists for select(),
 * which neither jpud nor libmicrohttpd (epoll) uses. */
static void raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = 131072;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		logf_(JPU_LOG_DEBUG, "RLIMIT_NOFILE: %s", strerror(errno));
}

static jpu_engine *start_engine(const struct jpud_config *c)
{
	jpu_engine_opts o = {.sz = sizeof o};
	jpu_engine *e = NULL;
	int r;

	o.sysfs_root = c->sysfs_root;
	o.procfs_root = c->procfs_root;
	o.nvml_library = c->nvml_library;
	o.interval_usec = c->interval_usec;
	o.scope = JPU_SCOPE_SYSTEM;
	o.state_file = *c->state_file ? c->state_file : NULL;
	o.country = *c->country ? c->country : NULL;
	o.intensity_mg_per_kwh = c->intensity_mg_per_kwh;
	o.log = log_line;
	/* the node's own history is as long as every scope's (--history),
	 * not the library's default of an hour (3600 x 80 bytes, resident
	 * once filled) */
	o.history_len = c->history_len ? c->history_len : 1;
	/* figures to the milliwatt, millijoule, milligram: what a person reads,
	 * and no fine energy side channel for anybody (CVE-2020-8694) */
	o.resolution_micro = 1000;
	r = jpu_engine_new(&o, &e);
	if (r < 0) {
		logf_(JPU_LOG_ERR, "cannot start the engine: %s", strerror(-r));
		return NULL;
	}
	r = jpu_engine_start(e);
	if (r < 0) {
		logf_(JPU_LOG_ERR, "cannot start sampling: %s", strerror(-r));
		return jpu_engine_free(e);
	}
	return e;
}

int main(int argc, char **argv)
{
	struct jpud_config cfg;
	struct jpud_server_opts so = {0};
	struct jpud_server *srv = NULL;
	struct jpud_scopes *scopes = NULL;
	struct jpud_scopes_opts sco = {0};
	int procfs_fd = -1, logs_fd = -1;
	jpu_engine *engine = NULL;
	sigset_t sigs;
	int r, sig, rc = 1;

	to_journal = getenv("JOURNAL_STREAM") != NULL;
	r = jpud_config_load(&cfg, argc, argv, stderr);
	if (r == 1)
		return 0; /* --help or --version */
	if (r < 0)
		return EXIT_USAGE;
	log_max = cfg.log_level;
	raise_nofile();
	/* glibc gives each thread that allocates an arena of its own (up to
	 * 8 per core); jpud's five threads allocate little and rarely at
	 * once, and every arena keeps its own free pages: two are enough
	 * (~200 kB less resident with 100 users, issue 9) */
	mallopt(M_ARENA_MAX, 2);

	/* every thread started later inherits the mask: signals are taken
	 * here, with sigwait, and nowhere else */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* the socket first (its folder may be root's), then drop to the
	 * daemon's user before a single counter is opened */
	so.socket_path = cfg.socket_path;
	so.listen = cfg.listen;
	so.procfs_root = cfg.procfs_root;
	so.rate_per_sec = cfg.rate_per_sec;
	so.rate_burst = cfg.rate_burst;
	so.allow_system = cfg.allow_system;
	so.timeout_sec = cfg.timeout_sec;
	so.log = log_line;
	procfs_fd = open(cfg.procfs_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfs_fd < 0) {
		logf_(JPU_LOG_ERR, "--path.procfs %s: %s", cfg.procfs_root, strerror(errno));
		goto out;
	}
	sco.procfs_fd = procfs_fd;
	/* kubelet's container log links name each container's pod, namespace
	 * and name; elsewhere there are none, and containers go by their ids */
	sco.container_logs_fd = -1;
	if (cfg.container_logs[0]) {
		logs_fd = open(cfg.container_logs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (logs_fd < 0)
			logf_(errno == ENOENT ? JPU_LOG_DEBUG : JPU_LOG_WARNING,
			      "--path.container-logs %s: %s: pods and containers are named by "
			      "their "
			      "ids only",
			      cfg.container_logs, strerror(errno));
		sco.container_logs_fd = logs_fd;
	}
	sco.process_metrics = cfg.process_metrics;
	sco.history_len = cfg.history_len;
	sco.log = log_line;
	r = jpud_scopes_new(&sco, &scopes);
	if (r < 0)
		goto out;
	so.scopes = scopes;
	so.discover_sec = cfg.discover_sec;
	r = jpud_server_new(&so, NULL, &srv);
	if (r < 0)
		goto out;
	r = drop_privileges(cfg.user);
	if (r < 0) {
		logf_(JPU_LOG_ERR, "cannot drop privileges: %s", strerror(-r));
		goto out;
	}
	r = check_state_dir(cfg.state_file);
	if (r < 0)
		goto out;
	engine = start_engine(&cfg);
	if (!engine)
		goto out;
	jpud_server_set_engine(srv, engine);
	logf_(JPU_LOG_INFO, "serving %s%s%s every %.1f s", *cfg.socket_path ? cfg.socket_path : "",
	      *cfg.listen ? " and http://" : "", cfg.listen, (double)cfg.interval_usec / 1e6);

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			struct jpud_config next;
			jpu_engine *fresh;

			if (jpud_config_load(&next, argc, argv, stderr) < 0) {
				logf_(JPU_LOG_ERR, "reload: the configuration is invalid; "
				                   "keeping the running one");
				continue;
			}
			/* One engine holds the state file's lock at a time: the
			 * running one stops (its totals are saved every tick) and
			 * goes, then the new one loads them; at most the interval
			 * in flight is lost. Requests meanwhile get 503. */
			jpud_server_set_engine(srv, NULL);
			jpu_engine_stop(engine);
			engine = jpu_engine_free(engine);
			fresh = start_engine(&next);
			if (!fresh) {
				logf_(JPU_LOG_ERR,
				      "reload: going on with the previous configuration");
				jpud_config_free(&next);
				engine = start_engine(&cfg);
				if (!engine)
					goto out;
				jpud_server_set_engine(srv, engine);
				continue;
			}
			jpud_server_set_engine(srv, fresh);
			jpud_server_set_policy(srv, next.rate_per_sec, next.rate_burst,
			                       next.allow_system);
			engine = fresh;
			log_max = next.log_level;
			jpud_config_free(&cfg);
			cfg = next;
			logf_(JPU_LOG_INFO, "configuration reloaded");
			continue;
		}
		logf_(JPU_LOG_INFO, "stopping on signal %d", sig);
		break;
	}
	rc = 0;
out:
	srv = jpud_server_free(srv);
	if (engine) {
		jpu_engine_stop(engine);
		engine = jpu_engine_free(engine);
	}
	scopes = jpud_scopes_free(scopes);
	if (procfs_fd >= 0)
		close(procfs_fd);
	if (logs_fd >= 0)
		close(logs_fd);
	jpud_config_free(&cfg);
	return rc;
}
