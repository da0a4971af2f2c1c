/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jpu(1): the power, energy and (later) CO2 of the machine, a user or a
 * process tree, in the terminal or as JSON lines; `jpu run` measures one
 * command and its children like `perf stat`.
 *
 * Uses only the public API in include/jpu/jpu.h. Numbers are printed with
 * printf from doubles; no locale is set, so the C locale's '.' is used.
 * See docs/jpu.1.md for the interface (DESIGN section 3).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon_client.h"
#include "jpu/jpu.h"

#define EXIT_USAGE  2
#define EXIT_NOEXEC 127

/* Carbon options: parsed and validated here, handed to the engine's carbon
 * fields by apply_carbon_opts(). */
#define MAX_CARBON_URLS 8
struct carbon_opts {
	bool given;      /* some carbon flag was on the command line */
	char country[3]; /* ISO 3166-1 alpha-2, upper case; "" = none */
	bool has_intensity;
	double intensity_g_per_kwh;
	const char *provider; /* borrowed from argv; NULL = engine default */
	bool has_pue;
	double pue;
	const char *emaps_token; /* argv or $JPU_EMAPS_TOKEN; NULL = none */
	unsigned n_urls;
	struct {
		const char *name; /* provider name, borrowed from argv */
		const char *url;  /* borrowed from argv */
	} urls[MAX_CARBON_URLS];
};

struct cli {
	bool run; /* `jpu run` */
	bool json;
	bool interval_set;
	uint64_t interval_usec;
	uint64_t count; /* 0 = forever */
	bool scope_set;
	enum jpu_scope scope;
	pid_t pid; /* 0 = not given */
	bool uid_set;
	uid_t uid;
	const char *sysfs_root;  /* borrowed from argv; NULL = default */
	const char *procfs_root; /* borrowed from argv; NULL = default */
	const char *nvml;        /* NULL = default library, "" = GPUs off */
	const char *sysfs_from;  /* where sysfs_root came from, for messages */
	const char *procfs_from;
	bool idle_set;
	enum jpu_idle_policy idle_policy;
	const char *sensors;
	unsigned history_len;
	const char *state_file;
	bool verbose;
	struct carbon_opts carbon;
	char **command;          /* run: argv of the command, NULL-terminated */
	const char *daemon;      /* jpud's socket: read samples from it; NULL = sensors here */
	const char *daemon_from; /* "--daemon" or "JPU_DAEMON_SOCKET", for messages */
	bool sensor_flag;        /* a flag that only an engine of its own takes was given */
};

static volatile sig_atomic_t got_signal;    /* last SIGINT/SIGTERM received */
static volatile sig_atomic_t signal_by_tty; /* it came from the terminal */

/* ---- messages ------------------------------------------------------------ */

static void usage_hint(void)
{
	fprintf(stderr, "Try 'jpu --help' for more information.\n");
}

/* A usage error: one line naming the flag, a hint, exit status 2. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("jpu: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage_hint();
	return -EINVAL;
}

static void print_help(void)
{
	fputs("Usage: jpu [OPTION...]\n"
	      "       jpu run [OPTION...] -- COMMAND [ARG...]\n"
	      "\n"
	      "Show the power drawn by CPU, DRAM and GPUs for the system, a user or a "
	      "process\n"
	      "tree; with 'run', the energy of one command and its children.\n"
	      "\n"
	      "Output:\n"
	      "  --json                 one JSON object per sample, one per line (run: "
	      "one\n"
	      "                         summary object on stdout)\n"
	      "  --interval SECONDS     sampling interval, e.g. 0.5 (default 1; run: "
	      "0.5)\n"
	      "  --count N              stop after N samples (default: run until "
	      "interrupted)\n"
	      "\n"
	      "Scope:\n"
	      "  --scope SCOPE          system (or sys), user or process (default "
	      "system)\n"
	      "  --pid PID              process scope: the root of the tree "
	      "(required)\n"
	      "  --uid UID              user scope: the user (default: the caller)\n"
	      "  --idle-policy POLICY   none, busy or even (default none)\n"
	      "\n"
	      "Sensors:\n"
	      "  --path.sysfs DIR       sysfs mount point (default /sys)\n"
	      "  --path.procfs DIR      procfs mount point (default /proc)\n"
	      "  --nvml LIBRARY         NVML library to load (default "
	      "libnvidia-ml.so.1);\n"
	      "                         \"\" or \"none\" disables GPUs\n"
	      "  --sensors LIST         debugging: comma-separated backends to probe\n"
	      "                         (rapl,hwmon,perf,nvml,estimate,fake)\n"
	      "  --history N            samples kept in the engine's history (default "
	      "3600)\n"
	      "  --state-file PATH      keep cumulative energy across restarts in "
	      "PATH\n"
	      "  --daemon SOCKET        read the samples of the node daemon jpud at "
	      "SOCKET\n"
	      "                         instead of opening sensors (default: "
	      "$JPU_DAEMON_SOCKET)\n"
	      "\n"
	      "Carbon:\n"
	      "  --country CC           ISO 3166-1 alpha-2 country of the grid (e.g. "
	      "FR)\n"
	      "  --intensity G_PER_KWH  constant grid intensity in gCO2e/kWh\n"
	      "  --carbon-provider NAME auto, rte, gb, emaps, table or constant\n"
	      "  --pue RATIO            data-centre power usage effectiveness, >= 1 "
	      "(default 1)\n"
	      "  --emaps-token TOKEN    Electricity Maps token (prefer "
	      "$JPU_EMAPS_TOKEN)\n"
	      "  --carbon-url NAME=URL  base URL of a provider (rte, gb or emaps)\n"
	      "\n"
	      "  -v, --verbose          also print the engine's informational "
	      "messages\n"
	      "  -h, --help             show this help and exit\n"
	      "      --version          show the version and exit\n"
	      "\n"
	      "Options take their value as the next argument or after '=' "
	      "(--interval=0.5).\n"
	      "Exit status: 0 success, 1 cannot run, 2 usage error; 'run' exits with "
	      "the\n"
	      "command's status (128+N if killed by signal N, 127 if it cannot be "
	      "started).\n"
	      "See jpu(1) for the JSON fields and how to grant access to the "
	      "sensors.\n",
	      stdout);
}

/* ---- strict parsers ------------------------------------------------------ */

/* Decimal digits only, no sign, no spaces, no overflow past `max`. */
static int parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

/* A finite, non-negative decimal number ("0.5", "2", "1e-3"). strtod alone
 * would take " 1", "+1", "-0", "nan", "inf" and hex, so the first
 * character must be a digit or '.', and hex is refused. No locale is set,
 * so the decimal point is '.'. */
static int parse_number(const char *s, double *ret)
{
	char *end;
	double v;

	if (!((*s >= '0' && *s <= '9') || *s == '.'))
		return -EINVAL;
	if (strpbrk(s, "xXpP"))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno == ERANGE || !isfinite(v) || v < 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_seconds(const char *flag, const char *s, uint64_t *ret_usec)
{
	double v;

	if (parse_number(s, &v) < 0 || v <= 0)
		return usage_error("%s: expected a positive number of seconds, got '%s'", flag, s);
	/* the engine's range (engine.c): shorter intervals would measure
	 * mostly the sampler, longer ones hide what the work does */
	if (v < 0.01 || v > 3600.0)
		return usage_error("%s: expected between 0.01 and 3600 seconds, got '%s'", flag, s);
	*ret_usec = (uint64_t)llround(v * 1e6);
	return 0;
}

static int parse_positive(const char *flag, const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v;

	if (parse_uint(s, max, &v) < 0 || v == 0)
		return usage_error("%s: expected a whole number from 1 to %" PRIu64 ", got '%s'",
		                   flag, max, s);
	*ret = v;
	return 0;
}

/* ---- option parsing ------------------------------------------------------ */

static bool is_provider_name(const char *s)
{
	static const char *const names[] = {"auto", "rte", "gb", "emaps", "table", "constant"};

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strcmp(s, names[k]) == 0)
			return true;
	return false;
}

static int parse_carbon_url(struct carbon_opts *c, const char *v)
{
	const char *eq = strchr(v, '=');
	size_t nlen;

	if (!eq)
		return usage_error("--carbon-url: expected NAME=URL, got '%s'", v);
	nlen = (size_t)(eq - v);
	if (!((nlen == 3 && strncmp(v, "rte", 3) == 0) || (nlen == 2 && strncmp(v, "gb", 2) == 0) ||
	      (nlen == 5 && strncmp(v, "emaps", 5) == 0)))
		return usage_error("--carbon-url: NAME must be rte, gb or emaps, got '%.*s'",
		                   (int)nlen, v);
	if (strncmp(eq + 1, "http://", 7) != 0 && strncmp(eq + 1, "https://", 8) != 0)
		return usage_error(
		        "--carbon-url: URL must start with http:// or https://, got '%s'", eq + 1);
	if (c->n_urls >= MAX_CARBON_URLS)
		return usage_error("--carbon-url: at most %d may be given", MAX_CARBON_URLS);
	/* the name is not NUL-terminated in argv: keep a static copy */
	c->urls[c->n_urls].name = nlen == 3 ? "rte" : nlen == 2 ? "gb" : "emaps";
	c->urls[c->n_urls].url = eq + 1;
	c->n_urls++;
	return 0;
}

static int parse_carbon(struct cli *o, const char *name, const char *v)
{
	struct carbon_opts *c = &o->carbon;
	double d;

	c->given = true;
	if (strcmp(name, "--country") == 0) {
		if (strlen(v) != 2 || !((v[0] | 0x20) >= 'a' && (v[0] | 0x20) <= 'z') ||
		    !((v[1] | 0x20) >= 'a' && (v[1] | 0x20) <= 'z'))
			return usage_error("--country: expected a two-letter ISO 3166-1 code such "
			                   "as FR, got '%s'",
			                   v);
		c->country[0] = (char)(v[0] & ~0x20);
		c->country[1] = (char)(v[1] & ~0x20);
		c->country[2] = '\0';
	} else if (strcmp(name, "--intensity") == 0) {
		/* the dirtiest grids are near 1000 g/kWh; 5000 catches unit mix-ups */
		if (parse_number(v, &d) < 0 || d > 5000)
			return usage_error(
			        "--intensity: expected gCO2e/kWh from 0 to 5000, got '%s'", v);
		c->has_intensity = true;
		c->intensity_g_per_kwh = d;
	} else if (strcmp(name, "--carbon-provider") == 0) {
		if (!is_provider_name(v))
			return usage_error(
			        "--carbon-provider: expected auto, rte, gb, emaps, table "
			        "or constant, got '%s'",
			        v);
		c->provider = v;
	} else if (strcmp(name, "--pue") == 0) {
		if (parse_number(v, &d) < 0 || d < 1.0 || d > 10.0)
			return usage_error("--pue: expected a ratio from 1 to 10, got '%s'", v);
		c->has_pue = true;
		c->pue = d;
	} else if (strcmp(name, "--emaps-token") == 0) {
		if (!*v)
			return usage_error("--emaps-token: empty token");
		c->emaps_token = v;
	} else {
		return parse_carbon_url(c, v);
	}
	return 0;
}

/* The backends jpu_engine_opts.sensors names (jpu.h), plus the test one. */
static int check_sensor_list(const char *v)
{
	static const char *const names[] = {"rapl", "hwmon", "perf", "nvml", "estimate", "fake"};
	const char *p = v;

	if (!*v)
		return usage_error("--sensors: expected a list such as rapl,estimate");
	while (*p) {
		size_t len = strcspn(p, ",");
		bool ok = false;

		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strlen(names[k]) == len && strncmp(p, names[k], len) == 0)
				ok = true;
		if (!ok)
			return usage_error(
			        "--sensors: unknown backend '%.*s' (expected rapl, hwmon, "
			        "perf, nvml, estimate or fake)",
			        (int)len, p);
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Options that take a value, shared by `jpu` and `jpu run`: the long
 * option table gives each one its index here (OPT_VALUE + k), and the
 * messages name the flag as written here. */
static const char *const value_flags[] = {
        "--interval",   "--count",       "--scope",      "--pid",         "--uid",
        "--path.sysfs", "--path.procfs", "--nvml",       "--idle-policy", "--sensors",
        "--history",    "--state-file",  "--country",    "--intensity",   "--carbon-provider",
        "--pue",        "--emaps-token", "--carbon-url", "--daemon",
};

enum {
	OPT_VERSION = 256,
	OPT_JSON,
	OPT_VALUE = 512, /* + index in value_flags */
};

#define N_VALUE_FLAGS (sizeof(value_flags) / sizeof(value_flags[0]))

static int parse_value_flag(struct cli *o, const char *name, const char *v)
{
	uint64_t n;
	int r;

	if (strcmp(name, "--interval") == 0) {
		o->interval_set = true;
		return parse_seconds(name, v, &o->interval_usec);
	}
	if (strcmp(name, "--count") == 0)
		return parse_positive(name, v, UINT32_MAX, &o->count);
	if (strcmp(name, "--scope") == 0) {
		r = jpu_scope_from_string(v);
		/* a cgroup is a scope the node daemon adds, not the CLI's own */
		if (r < 0 || r == JPU_SCOPE_CGROUP)
			return usage_error("--scope: expected system, user or process, got '%s'",
			                   v);
		o->scope = (enum jpu_scope)r;
		o->scope_set = true;
		return 0;
	}
	if (strcmp(name, "--pid") == 0) {
		r = parse_positive(name, v, INT32_MAX, &n);
		o->pid = r < 0 ? 0 : (pid_t)n;
		return r;
	}
	if (strcmp(name, "--uid") == 0) {
		/* (uid_t)-1 means "no user" to the kernel */
		if (parse_uint(v, UINT32_MAX - 1, &n) < 0)
			return usage_error("--uid: expected a numeric user id, got '%s'", v);
		o->uid = (uid_t)n;
		o->uid_set = true;
		return 0;
	}
	if (strcmp(name, "--path.sysfs") == 0 || strcmp(name, "--path.procfs") == 0) {
		o->sensor_flag = true;
		if (!*v)
			return usage_error("%s: empty directory", name);
		*(name[7] == 's' ? &o->sysfs_root : &o->procfs_root) = v;
		return 0;
	}
	if (strcmp(name, "--nvml") == 0) {
		o->sensor_flag = true;
		o->nvml = strcmp(v, "none") == 0 ? "" : v;
		return 0;
	}
	if (strcmp(name, "--idle-policy") == 0) {
		o->sensor_flag = true;
		r = jpu_idle_policy_from_string(v);
		if (r < 0)
			return usage_error("--idle-policy: expected none, busy or even, got '%s'",
			                   v);
		o->idle_policy = (enum jpu_idle_policy)r;
		o->idle_set = true;
		return 0;
	}
	if (strcmp(name, "--sensors") == 0) {
		o->sensor_flag = true;
		r = check_sensor_list(v);
		if (r < 0)
			return r;
		o->sensors = v;
		return 0;
	}
	if (strcmp(name, "--history") == 0) {
		o->sensor_flag = true;
		r = parse_positive(name, v, 10000000, &n);
		o->history_len = (unsigned)n;
		return r;
	}
	if (strcmp(name, "--daemon") == 0) {
		if (!*v)
			return usage_error("--daemon: empty socket path");
		o->daemon = v;
		o->daemon_from = "--daemon";
		return 0;
	}
	/* everything below configures an engine of the CLI's own */
	o->sensor_flag = true;
	if (strcmp(name, "--state-file") == 0) {
		if (!*v)
			return usage_error("--state-file: empty path");
		o->state_file = v;
		return 0;
	}
	return parse_carbon(o, name, v);
}

/* The long options for getopt_long: the flags without a value, then
 * value_flags (names without the leading "--"). Built once. */
static const struct option *long_options(void)
{
	static struct option opts[4 + N_VALUE_FLAGS + 1];

	if (opts[0].name)
		return opts;
	opts[0] = (struct option){"help", no_argument, NULL, 'h'};
	opts[1] = (struct option){"verbose", no_argument, NULL, 'v'};
	opts[2] = (struct option){"version", no_argument, NULL, OPT_VERSION};
	opts[3] = (struct option){"json", no_argument, NULL, OPT_JSON};
	for (size_t k = 0; k < N_VALUE_FLAGS; k++)
		opts[4 + k] = (struct option){value_flags[k] + 2, required_argument, NULL,
		                              OPT_VALUE + (int)k};
	return opts;
}

/* Name the flag getopt_long refused (argv[optind - 1] for a long one,
 * optopt for a short one), in the CLI's own words. */
static int option_error(int c, char **argv)
{
	const char *a = argv[optind - 1];
	const struct option *lo = long_options();

	if (c == ':') {
		/* a flag that takes a value came last */
		if (optopt >= OPT_VALUE && optopt < OPT_VALUE + (int)N_VALUE_FLAGS)
			return usage_error("%s: missing value", value_flags[optopt - OPT_VALUE]);
		return usage_error("%s: missing value", a);
	}
	if (strncmp(a, "--", 2) == 0) {
		size_t nlen = strcspn(a, "=");

		/* "--json=1": a flag without a value given one */
		for (; lo->name; lo++)
			if (lo->has_arg == no_argument && strlen(lo->name) == nlen - 2 &&
			    strncmp(a + 2, lo->name, nlen - 2) == 0 && a[nlen] == '=')
				return usage_error("unknown option '--%s' (it takes no value)",
				                   lo->name);
		return usage_error("unknown option '%.*s'", (int)nlen, a);
	}
	if (optopt > 0 && optopt < 256)
		return usage_error("unknown option '-%c'", optopt);
	return usage_error("unknown option '%s'", a);
}

/* Returns 0, 1 for "exit 0 now" (--help, --version) or -EINVAL. */
/* The value of the environment variable name, or NULL when it is unset or empty. */
static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int parse_args(int argc, char **argv, struct cli *o)
{
	const struct option *lo = long_options();
	int c, r, i, prev, li;

	if (argc > 1 && strcmp(argv[1], "run") == 0) {
		o->run = true;
		/* parse the options after "run" as if "run" were the program */
		argc--;
		argv++;
	}
	/* "+": stop at the first operand, the command of `jpu run` (whose own
	 * options are not ours); ":": a missing value is told apart. The CLI
	 * words its own messages (opterr 0). */
	opterr = 0;
	optind = 1;
	for (;;) {
		prev = optind;
		li = -1;
		c = getopt_long(argc, argv, "+:hv", lo, &li);
		if (c == -1)
			break;
		/* getopt_long also takes unique abbreviations ("--js"): the
		 * CLI takes whole names only, so that a flag added later
		 * cannot change what a script's abbreviation means */
		if (li >= 0 && c != '?' && c != ':' &&
		    strcspn(argv[prev] + 2, "=") != strlen(lo[li].name))
			return usage_error("unknown option '%.*s'", (int)strcspn(argv[prev], "="),
			                   argv[prev]);
		switch (c) {
		case 'h':
			print_help();
			return 1;
		case OPT_VERSION:
			printf("jpu %s\n", jpu_version());
			return 1;
		case OPT_JSON:
			o->json = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case ':':
		case '?':
			return option_error(c, argv);
		default:
			if (c < OPT_VALUE || c >= OPT_VALUE + (int)N_VALUE_FLAGS)
				return usage_error("unknown option '%s'", argv[optind - 1]);
			r = parse_value_flag(o, value_flags[c - OPT_VALUE], optarg);
			if (r < 0)
				return r;
			break;
		}
	}
	i = optind;
	if (!o->run && i < argc)
		return usage_error("unexpected argument '%s'", argv[i]);

	if (o->run) {
		if (i >= argc)
			return usage_error("run: missing COMMAND (jpu run [options] -- COMMAND "
			                   "[ARG...])");
		if (o->scope_set || o->pid || o->uid_set)
			return usage_error(
			        "run: --scope, --pid and --uid do not apply: run measures "
			        "the command's process tree");
		if (o->count)
			return usage_error("run: --count does not apply: run samples until the "
			                   "command exits");
		o->command = argv + i;
		o->scope = JPU_SCOPE_PROCESS;
		if (!o->interval_set)
			o->interval_usec = 500000;
	} else {
		if (o->scope == JPU_SCOPE_PROCESS && !o->pid)
			return usage_error("--scope process needs --pid PID (the root of the tree "
			                   "to measure)");
		if (o->pid && o->scope != JPU_SCOPE_PROCESS) {
			if (o->scope_set)
				return usage_error("--pid applies only to --scope process");
			o->scope = JPU_SCOPE_PROCESS; /* --pid alone implies the scope */
		}
		if (o->uid_set && o->scope != JPU_SCOPE_USER) {
			if (o->scope_set)
				return usage_error("--uid applies only to --scope user");
			o->scope = JPU_SCOPE_USER;
		}
	}
	if (o->daemon && (o->sensor_flag || o->uid_set))
		return usage_error("--daemon reads the daemon's sensors, carbon settings and "
		                   "caller: the sensor, carbon and --uid options do not apply");
	/* A Jupyter server hands its kernels and terminals the socket of the jpud it
	 * uses: read from it too, unless the command line configures sensors here. */
	if (!o->daemon && !o->sensor_flag && !o->uid_set &&
	    (o->daemon = env_nonempty("JPU_DAEMON_SOCKET")))
		o->daemon_from = "JPU_DAEMON_SOCKET";
	if (!o->carbon.emaps_token) {
		const char *t = getenv("JPU_EMAPS_TOKEN");

		if (t && *t)
			o->carbon.emaps_token = t; /* not "given": the environment is ambient */
	}
	/* A Jupyter server with jupyter-power-usage hands its roots and NVML library to the
	 * processes it starts (jupyter_power_usage/handoff.py), so jpu in its terminals
	 * reads what the server's top bar reads. The command line still wins. */
	o->sysfs_from = "--path.sysfs";
	o->procfs_from = "--path.procfs";
	if (!o->sysfs_root && (o->sysfs_root = env_nonempty("JPU_SYSFS")))
		o->sysfs_from = "JPU_SYSFS";
	if (!o->procfs_root && (o->procfs_root = env_nonempty("JPU_PROCFS")))
		o->procfs_from = "JPU_PROCFS";
	if (!o->nvml)
		o->nvml = getenv("JPU_NVML"); /* set to "" = GPUs off, as --nvml none */
	return 0;
}

/* ---- engine set-up ------------------------------------------------------- */

static void log_to_stderr(int level, const char *msg, void *userdata)
{
	const struct cli *o = userdata;

	if (level > JPU_LOG_WARNING && !o->verbose)
		return;
	fprintf(stderr, "jpu: %s%s\n", level <= JPU_LOG_ERR ? "error: " : "", msg);
}

/* The marked spot for the carbon options (see struct carbon_opts). */
static void apply_carbon_opts(jpu_engine_opts *eo, const struct carbon_opts *c, char urls[][256])
{
	eo->carbon_provider = c->provider;
	eo->country = c->country[0] ? c->country : NULL;
	/* --intensity alone means "use this constant" */
	if (c->has_intensity) {
		eo->intensity_mg_per_kwh = (uint32_t)(c->intensity_g_per_kwh * 1000.0 + 0.5);
		if (!c->provider)
			eo->carbon_provider = "constant";
	}
	if (c->has_pue)
		eo->pue_milli = (uint32_t)(c->pue * 1000.0 + 0.5);
	eo->emaps_token = c->emaps_token;
	for (unsigned i = 0; i < c->n_urls && i < MAX_CARBON_URLS; i++) {
		snprintf(urls[i], 256, "%s=%s", c->urls[i].name, c->urls[i].url);
		eo->carbon_urls[i] = urls[i];
	}
}

/* A root given on the command line must be a directory: say which flag. */
static int check_root(const char *flag, const char *dir)
{
	struct stat st;

	if (!dir)
		return 0;
	if (stat(dir, &st) < 0) {
		fprintf(stderr, "jpu: %s %s: %s\n", flag, dir,
		        errno == ENOENT ? "no such directory" : strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "jpu: %s %s: not a directory\n", flag, dir);
		return -ENOTDIR;
	}
	return 0;
}

/* Explain an engine error: what failed and what to do. */
static void explain_engine_error(const struct cli *o, const char *what, int r)
{
	fprintf(stderr, "jpu: %s: %s\n", what, strerror(-r));
	switch (-r) {
	case EACCES:
	case EPERM:
		fprintf(stderr,
		        "jpu: the RAPL energy counters are readable by root only since "
		        "CVE-2020-8694\n"
		        "jpu: (PLATYPUS). To grant read access to the group " JPU_POWERCAP_GROUP
		        ", install the udev rule\n"
		        "jpu: " JPU_UDEV_RULE " (in share/jpu of the installation, data/ of the "
		        "source) in /etc/udev/rules.d:\n"
		        "jpu: the steps are in " JPU_PERMISSIONS_DOC ".\n"
		        "jpu: Or run the node daemon jpud, which serves each user their own "
		        "figures.\n");
		break;
	case ENOENT:
		fprintf(stderr, "jpu: check %s (%s) and %s (%s)\n", o->sysfs_from,
		        o->sysfs_root ? o->sysfs_root : "/sys", o->procfs_from,
		        o->procfs_root ? o->procfs_root : "/proc");
		break;
	case ESRCH:
		fprintf(stderr, "jpu: --pid %ld: no such process\n", (long)o->pid);
		break;
	case EINVAL:
		fprintf(stderr, "jpu: an option was refused (see the message above)\n");
		break;
	default:
		break;
	}
}

static int engine_open(struct cli *o, jpu_engine **ret)
{
	static char carbon_urls[MAX_CARBON_URLS][256]; /* outlive jpu_engine_new */
	jpu_engine_opts eo;
	int r;

	if (check_root(o->sysfs_from, o->sysfs_root) < 0 ||
	    check_root(o->procfs_from, o->procfs_root) < 0)
		return -ENOENT;
	memset(&eo, 0, sizeof(eo));
	eo.sz = sizeof(eo);
	eo.sysfs_root = o->sysfs_root;
	eo.procfs_root = o->procfs_root;
	eo.nvml_library = o->nvml;
	eo.sensors = o->sensors;
	eo.interval_usec = o->interval_usec;
	eo.scope = o->scope;
	eo.pid = o->pid;
	eo.uid = o->uid_set ? o->uid : getuid();
	eo.idle_policy = o->idle_policy;
	eo.history_len = o->history_len;
	eo.log = log_to_stderr;
	eo.log_userdata = o;
	eo.state_file = o->state_file;
	apply_carbon_opts(&eo, &o->carbon, carbon_urls);
	r = jpu_engine_new(&eo, ret);
	if (r < 0)
		explain_engine_error(o, "cannot start the engine", r);
	return r;
}

/* ---- diagnostics ----------------------------------------------------------- */

/* One line for a terminal: control characters (a sysfs name can hold
 * anything) become spaces. */
static void put_line(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, f);
}

/* The engine's diagnostics through its accessor (jpu_engine_diagnostic),
 * one "sensor (reason): message" line each. */
static void print_diagnostics(jpu_engine *e, FILE *f)
{
	jpu_diagnostic d;
	size_t i;
	int r;

	for (i = 0;; i++) {
		memset(&d, 0, sizeof d);
		d.sz = sizeof d;
		r = jpu_engine_diagnostic(e, i, &d);
		if (r < 0)
			break;
		if (i == 0)
			fprintf(f, "Diagnostics:\n");
		fputs("  ", f);
		put_line(f, d.sensor[0] ? d.sensor : "?");
		fputs(" (", f);
		put_line(f, d.reason);
		fputs("): ", f);
		put_line(f, d.message[0] ? d.message : "(no message)");
		fputc('\n', f);
	}
	if (r != -ENOENT)
		fprintf(f, "Diagnostics: unavailable (%s)\n", strerror(-r));
}

/* ---- signals ------------------------------------------------------------- */

static void on_signal(int sig, siginfo_t *info, void *uctx)
{
	(void)uctx;
	/* SI_KERNEL: typed at the terminal, which signals the whole foreground
	 * process group, the command of `jpu run` included */
	signal_by_tty = info && info->si_code == SI_KERNEL;
	got_signal = sig;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO; /* no SA_RESTART: waitid() must return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* ---- the live view and JSON lines ---------------------------------------- */

static double w(uint64_t uw)
{
	return (double)uw / 1e6;
}

static double j(uint64_t uj)
{
	return (double)uj / 1e6;
}

static void print_view(const struct cli *o, jpu_engine *e, const jpu_summary *s, bool tty)
{
	char when[32] = "";
	time_t t = (time_t)(s->t_usec / 1000000);
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	if (tty)
		fputs("\033[H\033[2J", stdout); /* cursor home, clear screen */
	else if (s->seq > 1)
		fputc('\n', stdout);
	printf("jpu %s  scope %s", jpu_version(), jpu_scope_to_string(o->scope));
	if (o->scope == JPU_SCOPE_PROCESS)
		printf(" (pid %ld)", (long)o->pid);
	else if (o->scope == JPU_SCOPE_USER)
		printf(" (uid %lu)", (unsigned long)(o->uid_set ? o->uid : getuid()));
	printf("  interval %.3g s  sample %" PRId64 "  %s\n", (double)o->interval_usec / 1e6,
	       s->seq, when);
	if (s->has_cpu) {
		printf("CPU     usage %9.3f W   share %5.1f %%   source %s%s\n", w(s->cpu_usage_uw),
		       s->share * 100.0, s->cpu_source,
		       strcmp(s->cpu_source, "estimate") == 0 ? " (ESTIMATED, not measured)" : "");
		printf("        total %9.3f W   idle %9.3f W  (packages + DRAM)\n",
		       w(s->cpu_total_uw), w(s->cpu_idle_uw));
	} else {
		printf("CPU     not available (see diagnostics)\n");
	}
	if (s->has_dram)
		printf("DRAM    total %9.3f W   (included in CPU usage and total)\n",
		       w(s->dram_total_uw));
	if (s->has_psys)
		printf("psys    total %9.3f W   (whole platform, not added to CPU)\n",
		       w(s->psys_uw));
	if (s->has_gpu)
		printf("GPU     usage %9.3f W   total %9.3f W   source %s\n", w(s->gpu_usage_uw),
		       w(s->gpu_total_uw), s->gpu_source);
	printf("Energy  %.3f J  (cpu %.3f J", j(s->energy_uj), j(s->cpu_energy_uj));
	if (s->has_dram)
		printf(", dram %.3f J", j(s->dram_energy_uj));
	if (s->has_gpu)
		printf(", gpu %.3f J", j(s->gpu_energy_uj));
	printf(")\n");
	if (s->estimated)
		printf("Some figures are ESTIMATED from CPU utilisation: no readable power "
		       "sensor.\n");
	print_diagnostics(e, stdout);
}

/* Wait for a sample newer than *seq in short slices, so that a signal is
 * seen promptly. Returns 1 with *seq updated, 0 on a signal, -ETIMEDOUT
 * when the sampler stays silent for ten intervals (and at least 10 s). */
static int wait_sample(jpu_engine *e, uint64_t interval_usec, int64_t *seq)
{
	uint64_t waited = 0, limit = interval_usec * 10 + 10000000;

	while (!got_signal) {
		int64_t r = jpu_engine_wait(e, *seq, 100000);

		if (r > *seq) {
			*seq = r;
			return 1;
		}
		if (r < 0 && r != -ETIMEDOUT)
			return (int)r;
		waited += 100000;
		if (waited > limit)
			return -ETIMEDOUT;
	}
	return 0;
}

static int cmd_watch(struct cli *o)
{
	jpu_engine *e = NULL;
	bool tty = isatty(STDOUT_FILENO) == 1;
	int64_t seq = 0;
	uint64_t n = 0;
	int r, ret = EXIT_FAILURE;

	if (!o->interval_set)
		o->interval_usec = 1000000;
	if (engine_open(o, &e) < 0)
		return EXIT_FAILURE;
	install_signals();
	r = jpu_engine_start(e);
	if (r < 0) {
		explain_engine_error(o, "cannot start sampling", r);
		goto out;
	}
	if (!o->json) {
		if (tty)
			fputs("\033[H\033[2J", stdout);
		printf("jpu: first sample in %.3g s...\n", (double)o->interval_usec / 1e6);
		print_diagnostics(e, stdout);
		fflush(stdout);
	}
	while (!o->count || n < o->count) {
		r = wait_sample(e, o->interval_usec, &seq);
		if (r == 0)
			break; /* SIGINT/SIGTERM: a clean exit */
		if (r < 0) {
			explain_engine_error(o, "no sample from the engine", r);
			goto out;
		}
		if (o->json) {
			char *json = NULL;

			r = jpu_engine_json(e, &json);
			if (r == -EAGAIN)
				continue;
			if (r < 0) {
				explain_engine_error(o, "cannot format the sample", r);
				goto out;
			}
			printf("%s\n", json);
			free(json);
		} else {
			jpu_summary s;

			memset(&s, 0, sizeof(s));
			s.sz = sizeof(s);
			r = jpu_engine_summary(e, &s);
			if (r < 0) {
				explain_engine_error(o, "cannot read the sample", r);
				goto out;
			}
			print_view(o, e, &s, tty);
		}
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "jpu: cannot write to standard output: %s\n",
			        strerror(errno));
			goto out;
		}
		n++;
	}
	ret = EXIT_SUCCESS;
out:
	jpu_engine_stop(e);
	jpu_engine_free(e);
	return ret;
}

/* ---- jpu run ------------------------------------------------------------- */

static void json_escape(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Fork the command, stopped on a pipe until the engine tracks it. The
 * child reports an exec failure's errno on a second, close-on-exec pipe:
 * an empty read there means exec succeeded. */
static pid_t spawn_waiting(char **command, int *ret_go_fd, int *ret_err_fd)
{
	int go[2], err[2];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC) < 0) {
		int e = errno;

		close(go[0]);
		close(go[1]);
		return -e;
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(go[0]);
		close(go[1]);
		close(err[0]);
		close(err[1]);
		return -e;
	}
	if (pid == 0) {
		char c;
		int e;

		close(go[1]);
		close(err[0]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		/* jpu closed the pipe without a go: it could not start */
		if (read(go[0], &c, 1) != 1)
			_exit(EXIT_NOEXEC);
		execvp(command[0], command);
		e = errno;
		if (write(err[1], &e, sizeof(e)) < 0)
			_exit(EXIT_NOEXEC);
		_exit(EXIT_NOEXEC);
	}
	close(go[0]);
	close(err[1]);
	*ret_go_fd = go[1];
	*ret_err_fd = err[0];
	return pid;
}

static double mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_FAILURE;
}

/* "Energy stats for 'COMMAND' (pid N, exit status S):", the head of both
 * run summaries (engine and jpud); one line: control characters escaped. */
static void print_run_head(FILE *f, const struct cli *o, pid_t pid, int status)
{
	fprintf(f, "\n Energy stats for '");
	for (char **a = o->command; *a; a++) {
		if (a != o->command)
			fputc(' ', f);
		for (const char *c = *a; *c; c++)
			if ((unsigned char)*c < 0x20)
				fprintf(f, "\\x%02x", (unsigned)(unsigned char)*c);
			else
				fputc(*c, f);
	}
	fprintf(f, "' (pid %ld, ", (long)pid);
	if (WIFSIGNALED(status))
		fprintf(f, "killed by signal %d):\n\n", WTERMSIG(status));
	else
		fprintf(f, "exit status %d):\n\n", exit_code_of(status));
}

static void print_run_summary(const struct cli *o, jpu_engine *e, const jpu_summary *s, pid_t pid,
                              int status, double elapsed)
{
	FILE *f = stderr;
	const char *est = s->estimated ? "  (estimated)" : "";

	print_run_head(f, o, pid, status);
	if (s->seq == 0) {
		fprintf(f, "   no sample: the command ended before the engine could measure it\n");
	} else {
		fprintf(f, " %14.3f J  cpu%s\n", j(s->cpu_energy_uj), est);
		if (s->has_dram)
			fprintf(f, " %14.3f J  dram\n", j(s->dram_energy_uj));
		if (s->has_gpu)
			fprintf(f, " %14.3f J  gpu\n", j(s->gpu_energy_uj));
		fprintf(f, " %14.3f J  total%s\n", j(s->energy_uj), est);
		fprintf(f, " %14.3f W  average power\n",
		        elapsed > 0 ? j(s->energy_uj) / elapsed : 0.0);
		fprintf(f, " %14.1f %%  share of busy CPU time (last interval)\n",
		        s->share * 100.0);
		fprintf(f, " %16s  source%s\n", s->cpu_source[0] ? s->cpu_source : "none",
		        s->estimated ? ": ESTIMATED from CPU utilisation, not measured" : "");
		/* a short run emits micrograms: below a gram, say it in mg */
		if (s->has_emissions && s->co2_ug < 1000000)
			fprintf(f, " %14.3f mg CO2e at %.1f g/kWh (%s, %s)\n", s->co2_ug / 1000.0,
			        s->intensity_mg_per_kwh / 1000.0, s->carbon_source, s->carbon_zone);
		else if (s->has_emissions)
			fprintf(f, " %14.3f g  CO2e at %.1f g/kWh (%s, %s)\n", j(s->co2_ug),
			        s->intensity_mg_per_kwh / 1000.0, s->carbon_source, s->carbon_zone);
	}
	fprintf(f, "\n %14.3f s  elapsed\n\n", elapsed);
	print_diagnostics(e, f);
}

static void print_run_json(const struct cli *o, jpu_engine *e, const jpu_summary *s, pid_t pid,
                           int status, double elapsed)
{
	char *sample = NULL;

	printf("{\"command\":[");
	for (char **a = o->command; *a; a++) {
		if (a != o->command)
			putchar(',');
		json_escape(stdout, *a);
	}
	printf("],\"pid\":%ld,\"exit_status\":%d,", (long)pid, exit_code_of(status));
	if (WIFSIGNALED(status))
		printf("\"signal\":%d,", WTERMSIG(status));
	printf("\"elapsed_s\":%.6f,", elapsed);
	if (s->seq > 0) {
		printf("\"energy_j\":{\"cpu\":%.6f", j(s->cpu_energy_uj));
		if (s->has_dram)
			printf(",\"dram\":%.6f", j(s->dram_energy_uj));
		if (s->has_gpu)
			printf(",\"gpu\":%.6f", j(s->gpu_energy_uj));
		printf(",\"total\":%.6f},\"power_w\":%.6f,\"share\":%.6f,", j(s->energy_uj),
		       elapsed > 0 ? j(s->energy_uj) / elapsed : 0.0, s->share);
		printf("\"source\":");
		json_escape(stdout, s->cpu_source);
		printf(",\"estimated\":%s,", s->estimated ? "true" : "false");
		if (s->has_emissions)
			printf("\"emissions_g\":%.6f,", j(s->co2_ug));
	}
	/* the engine's last sample carries diagnostics (and emissions later) */
	if (jpu_engine_json(e, &sample) == 0) {
		printf("\"sample\":%s}\n", sample);
		free(sample);
	} else {
		char *diag = NULL;

		if (jpu_engine_diagnostics_json(e, &diag) == 0)
			printf("\"diagnostics\":%s}\n", diag);
		else
			printf("\"diagnostics\":[]}\n");
		free(diag);
	}
	fflush(stdout);
}

/* Wait for the child to exit without reaping it: a zombie keeps its CPU
 * times in /proc/PID/stat, so the final sample still sees the whole run.
 * Signals sent to jpu alone are forwarded; one typed at the terminal has
 * already reached the command. */
static int wait_exit(pid_t pid)
{
	for (;;) {
		siginfo_t si;

		if (got_signal) {
			if (!signal_by_tty)
				kill(pid, got_signal);
			got_signal = 0;
		}
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* Let the child spawned by spawn_waiting exec the command, and learn whether
 * the exec failed. 0: it runs; > 0: the exec's errno (the child has exited,
 * reaped here); -1: the child could not be told to go (said on stderr). The
 * pipes are closed and set to -1 either way but the last, where *go_fd stays
 * open for the caller's failure path. */
static int release_child(pid_t pid, char **command, int *go_fd, int *err_fd)
{
	int child_errno = 0;
	ssize_t n;

	if (write(*go_fd, "g", 1) != 1) {
		fprintf(stderr, "jpu: cannot start the command: %s\n", strerror(errno));
		return -1;
	}
	close(*go_fd);
	*go_fd = -1;
	do
		n = read(*err_fd, &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(*err_fd);
	*err_fd = -1;
	if (n != (ssize_t)sizeof(child_errno))
		return 0; /* the pipe closed on exec */
	fprintf(stderr, "jpu: cannot run '%s': %s\n", command[0], strerror(child_errno));
	waitpid(pid, NULL, 0);
	return child_errno > 0 ? child_errno : EINVAL;
}

static int cmd_run(struct cli *o)
{
	jpu_engine *e = NULL;
	jpu_summary s;
	int go_fd = -1, err_fd = -1, status = 0, r;
	pid_t pid;
	double t0, elapsed;

	install_signals();
	pid = spawn_waiting(o->command, &go_fd, &err_fd);
	if (pid < 0) {
		fprintf(stderr, "jpu: cannot fork: %s\n", strerror((int)-pid));
		return EXIT_FAILURE;
	}
	o->pid = pid;
	if (engine_open(o, &e) < 0)
		goto fail_child;
	r = jpu_track(e, pid, "run");
	if (r < 0) {
		explain_engine_error(o, "cannot track the command", r);
		goto fail_child;
	}
	r = jpu_engine_start(e);
	if (r < 0) {
		explain_engine_error(o, "cannot start sampling", r);
		goto fail_child;
	}
	t0 = mono_sec();
	r = release_child(pid, o->command, &go_fd, &err_fd);
	if (r < 0)
		goto fail_child;
	if (r > 0) {
		jpu_engine_free(e);
		return EXIT_NOEXEC;
	}

	r = wait_exit(pid);
	elapsed = mono_sec() - t0;
	if (r < 0)
		fprintf(stderr, "jpu: waiting for the command: %s\n", strerror(-r));
	/* the final sample, taken while the zombie still shows its times */
	jpu_engine_stop(e);
	r = jpu_engine_sample(e);
	if (r < 0)
		explain_engine_error(o, "final sample", r);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;

	memset(&s, 0, sizeof(s));
	s.sz = sizeof(s);
	r = jpu_engine_summary(e, &s);
	if (r < 0) {
		explain_engine_error(o, "cannot read the sample", r);
		memset(&s, 0, sizeof(s));
	}
	if (o->json)
		print_run_json(o, e, &s, pid, status, elapsed);
	else
		print_run_summary(o, e, &s, pid, status, elapsed);
	jpu_engine_free(e);
	return exit_code_of(status);

fail_child:
	/* closing the go pipe makes the waiting child exit without exec */
	if (go_fd >= 0)
		close(go_fd);
	if (err_fd >= 0)
		close(err_fd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	jpu_engine_free(e);
	return EXIT_FAILURE;
}

/* ---- reading from jpud --------------------------------------------------- */

/* Say what went wrong with the daemon and what to do; returns EXIT_FAILURE. */
static int daemon_error(const struct cli *o, const char *what, int r)
{
	fprintf(stderr, "jpu: %s: jpud socket %s (%s): %s\n", what, o->daemon, o->daemon_from,
	        strerror(-r));
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ENOTSOCK)
		fprintf(stderr, "jpu: no jpud listens there: start it (systemctl start jpud), "
		                "name its socket with --daemon, or unset JPU_DAEMON_SOCKET to "
		                "read the sensors here\n");
	else if (r == -EACCES || r == -EPERM)
		fprintf(stderr, "jpu: the socket is not open to this account: see jpud(8) for "
		                "its group and mode\n");
	else if (r == -EBADMSG || r == -E2BIG)
		fprintf(stderr, "jpu: the answer was not the daemon's HTTP: is this jpud's "
		                "socket?\n");
	return EXIT_FAILURE;
}

/* The daemon's error message ({"error":"..."}) for a refused request. */
static int daemon_refused(const struct cli *o, const char *what, const struct jpu_dc_response *r)
{
	char msg[512] = "";

	if (jpu_dc_json_string(jpu_dc_json_get(r->body, "error"), msg, sizeof(msg)) < 0)
		snprintf(msg, sizeof(msg), "%.200s", r->body);
	fprintf(stderr, "jpu: %s: jpud (%s) answered %d: %s\n", what, o->daemon, r->status, msg);
	return EXIT_FAILURE;
}

/* Sleep in short slices so that a signal is seen; false on a signal. */
static bool nap(uint64_t usec)
{
	while (usec > 0 && !got_signal) {
		uint64_t slice = usec < 100000 ? usec : 100000;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)slice * 1000};

		nanosleep(&ts, NULL);
		usec -= slice;
	}
	return !got_signal;
}

/*
 * One request that waits out the daemon's 503 (no sample of a scope yet,
 * or a reload) and 429 (Retry-After) for up to `patience_usec`. Returns 0
 * with the answer, 1 on a signal, or a negative errno.
 */
static int daemon_get(struct jpu_dc *c, const char *method, const char *path,
                      struct jpu_dc_response *r, uint64_t patience_usec)
{
	uint64_t waited = 0;

	for (;;) {
		uint64_t pause;
		int ret = jpu_dc_request(c, method, path, r);

		if (ret < 0)
			return ret;
		if (r->status != 503 && r->status != 429)
			return 0;
		pause = r->status == 429 && r->retry_after > 0 ? (uint64_t)r->retry_after * 1000000
		                                               : 250000;
		if (waited + pause > patience_usec)
			return 0;
		if (!nap(pause))
			return 1;
		waited += pause;
	}
}

static void print_daemon_view(const struct cli *o, const char *body, bool tty, uint64_t n)
{
	const char *cpu = jpu_dc_json_get(body, "cpu"), *en = jpu_dc_json_get(body, "energy_j");
	const char *em = jpu_dc_json_get(body, "emissions");
	char when[40] = "", source[32] = "none", zone[64] = "";
	double usage = 0, total = 0, share = 0, e_total = 0, e_cpu = 0, g = 0, intensity = 0;

	jpu_dc_json_string(jpu_dc_json_get(body, "time"), when, sizeof(when));
	if (tty)
		fputs("\033[H\033[2J", stdout);
	else if (n > 0)
		fputc('\n', stdout);
	printf("jpu %s  scope %s", jpu_version(), jpu_scope_to_string(o->scope));
	if (o->scope == JPU_SCOPE_PROCESS)
		printf(" (pid %ld)", (long)o->pid);
	printf("  from jpud %s  %s\n", o->daemon, when);
	if (cpu) {
		jpu_dc_json_number(jpu_dc_json_get(cpu, "usage"), &usage);
		jpu_dc_json_number(jpu_dc_json_get(cpu, "total"), &total);
		jpu_dc_json_number(jpu_dc_json_get(cpu, "share"), &share);
		jpu_dc_json_string(jpu_dc_json_get(cpu, "source"), source, sizeof(source));
		printf("CPU     usage %9.3f W   share %5.1f %%   source %s%s\n", usage,
		       share * 100.0, source,
		       strcmp(source, "estimate") == 0 ? " (ESTIMATED, not measured)" : "");
		printf("        total %9.3f W  (packages + DRAM)\n", total);
	} else {
		printf("CPU     not available\n");
	}
	if (en) {
		jpu_dc_json_number(jpu_dc_json_get(en, "total"), &e_total);
		jpu_dc_json_number(jpu_dc_json_get(en, "cpu"), &e_cpu);
		printf("Energy  %.3f J  (cpu %.3f J)\n", e_total, e_cpu);
	}
	if (em && jpu_dc_json_number(jpu_dc_json_get(em, "g"), &g) == 0) {
		jpu_dc_json_number(jpu_dc_json_get(em, "intensity_g_per_kwh"), &intensity);
		jpu_dc_json_string(jpu_dc_json_get(em, "zone"), zone, sizeof(zone));
		printf("CO2e    %.3f g at %.1f g/kWh (%s)\n", g, intensity, zone);
	}
}

/* JSON on one line: the daemon's may be laid out over several (newlines
 * occur only between tokens: inside strings they are escaped). */
static void put_json_inline(const char *body, size_t len)
{
	for (size_t i = 0; i < len && body[i]; i++)
		if (body[i] != '\n' && body[i] != '\r')
			putchar(body[i]);
}

static void put_json_line(const char *body)
{
	put_json_inline(body, strlen(body));
	putchar('\n');
}

#define TAG_LEN 65 /* jpud's tags: 1-64 characters */

static int cmd_watch_daemon(struct cli *o)
{
	struct jpu_dc c;
	struct jpu_dc_response r;
	char path[96], last[40] = "", when[40];
	bool tty = isatty(STDOUT_FILENO) == 1;
	uint64_t n = 0;
	int ret = EXIT_FAILURE, e;

	if (!o->interval_set)
		o->interval_usec = 1000000;
	if (jpu_dc_init(&c, o->daemon) < 0)
		return daemon_error(o, "cannot connect", -ENAMETOOLONG);
	if (o->scope == JPU_SCOPE_PROCESS)
		snprintf(path, sizeof(path), "/v1/sample?scope=process&pid=%ld", (long)o->pid);
	else
		snprintf(path, sizeof(path), "/v1/sample?scope=%s", jpu_scope_to_string(o->scope));
	install_signals();
	while (!o->count || n < o->count) {
		/* the first sample of a scope comes one daemon interval after it is asked for */
		e = daemon_get(&c, "GET", path, &r, 15000000);
		if (e == 1)
			break;
		if (e < 0) {
			daemon_error(o, "cannot read a sample", e);
			goto out;
		}
		if (r.status != 200) {
			daemon_refused(o, "cannot read a sample", &r);
			goto out;
		}
		/* the daemon samples at its own interval: a shorter one repeats
		 * its sample, which is printed once */
		if (jpu_dc_json_string(jpu_dc_json_get(r.body, "time"), when, sizeof(when)) < 0 ||
		    strcmp(when, last) != 0) {
			snprintf(last, sizeof(last), "%s", when);
			if (o->json)
				put_json_line(r.body);
			else
				print_daemon_view(o, r.body, tty, n);
			if (fflush(stdout) != 0 || ferror(stdout)) {
				fprintf(stderr, "jpu: cannot write to standard output: %s\n",
				        strerror(errno));
				goto out;
			}
			n++;
			if (o->count && n >= o->count)
				break;
		}
		if (!nap(o->interval_usec))
			break;
	}
	ret = EXIT_SUCCESS;
out:
	jpu_dc_close(&c);
	return ret;
}

/* Now in the daemon's "time" format (ISO 8601, ms, UTC): such strings
 * order as the times they name. */
static void iso_now(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char s[32] = "";

	clock_gettime(CLOCK_REALTIME, &ts);
	if (gmtime_r(&ts.tv_sec, &tm))
		strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%03ldZ", s, ts.tv_nsec / 1000000);
}

/* The sample of `tag` in a GET /v1/tracked answer, or NULL. */
static const char *tracked_sample(const char *body, const char *tag)
{
	const char *p = body;
	char t[TAG_LEN];

	while (*p == ' ' || *p == '\n')
		p++;
	if (*p++ != '[')
		return NULL;
	for (;;) {
		while (*p == ' ' || *p == '\n' || *p == ',')
			p++;
		if (*p != '{')
			return NULL;
		if (jpu_dc_json_string(jpu_dc_json_get(p, "tag"), t, sizeof(t)) == 0 &&
		    strcmp(t, tag) == 0) {
			const char *s = jpu_dc_json_get(p, "sample");

			return s && *s == '{' ? s : NULL;
		}
		p = jpu_dc_json_skip(p);
		if (!p)
			return NULL;
	}
}

static void print_daemon_run(const struct cli *o, const char *sample, pid_t pid, int status,
                             double elapsed)
{
	const char *en = sample ? jpu_dc_json_get(sample, "energy_j") : NULL;
	const char *cpu = sample ? jpu_dc_json_get(sample, "cpu") : NULL;
	const char *em = sample ? jpu_dc_json_get(sample, "emissions") : NULL;
	double total = 0, part = 0, g = 0, intensity = 0;
	char source[32] = "none", zone[64] = "";
	const char *const parts[] = {"cpu", "dram", "gpu"};

	if (cpu)
		jpu_dc_json_string(jpu_dc_json_get(cpu, "source"), source, sizeof(source));
	if (en)
		jpu_dc_json_number(jpu_dc_json_get(en, "total"), &total);
	if (o->json) {
		printf("{\"command\":[");
		for (char **a = o->command; *a; a++) {
			if (a != o->command)
				putchar(',');
			json_escape(stdout, *a);
		}
		printf("],\"pid\":%ld,\"exit_status\":%d,", (long)pid, exit_code_of(status));
		if (WIFSIGNALED(status))
			printf("\"signal\":%d,", WTERMSIG(status));
		printf("\"elapsed_s\":%.6f,\"daemon\":", elapsed);
		json_escape(stdout, o->daemon);
		if (en) {
			const char *end = jpu_dc_json_skip(en);

			printf(",\"energy_j\":");
			put_json_inline(en, end ? (size_t)(end - en) : 0);
			printf(",\"power_w\":%.6f,\"source\":",
			       elapsed > 0 ? total / elapsed : 0.0);
			json_escape(stdout, source);
			printf(",\"estimated\":%s",
			       strcmp(source, "estimate") == 0 ? "true" : "false");
		}
		if (sample) {
			printf(",\"sample\":");
			put_json_inline(sample, strlen(sample));
		}
		printf("}\n");
		fflush(stdout);
		return;
	}
	print_run_head(stderr, o, pid, status);
	if (!en) {
		fprintf(stderr, "   no sample: the command ended before jpud could measure it\n");
	} else {
		for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++)
			if (jpu_dc_json_number(jpu_dc_json_get(en, parts[k]), &part) == 0)
				fprintf(stderr, " %14.3f J  %s\n", part, parts[k]);
		fprintf(stderr, " %14.3f J  total\n", total);
		fprintf(stderr, " %14.3f W  average power\n", elapsed > 0 ? total / elapsed : 0.0);
		fprintf(stderr, " %16s  source (jpud %s)%s\n", source, o->daemon,
		        strcmp(source, "estimate") == 0
		                ? ": ESTIMATED from CPU utilisation, not measured"
		                : "");
		if (em && jpu_dc_json_number(jpu_dc_json_get(em, "g"), &g) == 0) {
			jpu_dc_json_number(jpu_dc_json_get(em, "intensity_g_per_kwh"), &intensity);
			jpu_dc_json_string(jpu_dc_json_get(em, "zone"), zone, sizeof(zone));
			fprintf(stderr, " %14.3f mg CO2e at %.1f g/kWh (%s)\n", g * 1000.0,
			        intensity, zone);
		}
	}
	fprintf(stderr, "\n %14.3f s  elapsed\n\n", elapsed);
}

static int cmd_run_daemon(struct cli *o)
{
	struct jpu_dc c;
	struct jpu_dc_response r;
	char path[160], tag[TAG_LEN], t_exit[40], when[40], *sample = NULL;
	int go_fd = -1, err_fd = -1, status = 0, e;
	pid_t pid;
	double t0, elapsed;

	if (jpu_dc_init(&c, o->daemon) < 0)
		return daemon_error(o, "cannot connect", -ENAMETOOLONG);
	install_signals();
	pid = spawn_waiting(o->command, &go_fd, &err_fd);
	if (pid < 0) {
		fprintf(stderr, "jpu: cannot fork: %s\n", strerror((int)-pid));
		return EXIT_FAILURE;
	}
	/* the tag is the daemon's handle on the command for this caller */
	snprintf(tag, sizeof(tag), "jpu-run-%ld", (long)pid);
	snprintf(path, sizeof(path), "/v1/track?pid=%ld&tag=%s", (long)pid, tag);
	e = daemon_get(&c, "POST", path, &r, 5000000);
	if (e != 0) {
		if (e < 0)
			daemon_error(o, "cannot track the command", e);
		goto fail_child;
	}
	if (r.status != 201 && r.status != 200) {
		daemon_refused(o, "cannot track the command", &r);
		goto fail_child;
	}
	t0 = mono_sec();
	e = release_child(pid, o->command, &go_fd, &err_fd);
	if (e < 0)
		goto untrack;
	if (e > 0) {
		snprintf(path, sizeof(path), "/v1/track/%s", tag);
		jpu_dc_request(&c, "DELETE", path, &r);
		jpu_dc_close(&c);
		return EXIT_NOEXEC;
	}
	e = wait_exit(pid);
	elapsed = mono_sec() - t0;
	if (e < 0)
		fprintf(stderr, "jpu: waiting for the command: %s\n", strerror(-e));
	/* the daemon's next tick after the exit, while the zombie still shows
	 * its CPU times, holds the whole run */
	iso_now(t_exit, sizeof(t_exit));
	for (int tries = 0; tries < 60; tries++) {
		const char *s;

		e = daemon_get(&c, "GET", "/v1/tracked", &r, 2000000);
		if (e < 0) {
			daemon_error(o, "cannot read the command's sample", e);
			break;
		}
		if (e == 0 && r.status != 200) {
			daemon_refused(o, "cannot read the command's sample", &r);
			break;
		}
		s = e == 0 ? tracked_sample(r.body, tag) : NULL;
		if (s && jpu_dc_json_string(jpu_dc_json_get(s, "time"), when, sizeof(when)) == 0 &&
		    strcmp(when, t_exit) > 0) {
			const char *end = jpu_dc_json_skip(s);

			free(sample);
			sample = end ? strndup(s, (size_t)(end - s)) : NULL;
			break;
		}
		if (s) {
			const char *end = jpu_dc_json_skip(s);

			free(sample); /* the latest so far, should no later one come */
			sample = end ? strndup(s, (size_t)(end - s)) : NULL;
		}
		if (e == 1 || !nap(250000))
			break;
	}
	snprintf(path, sizeof(path), "/v1/track/%s", tag);
	if (jpu_dc_request(&c, "DELETE", path, &r) < 0)
		fprintf(stderr, "jpu: could not untrack '%s' in jpud\n", tag);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	print_daemon_run(o, sample, pid, status, elapsed);
	free(sample);
	jpu_dc_close(&c);
	return exit_code_of(status);

untrack:
	snprintf(path, sizeof(path), "/v1/track/%s", tag);
	jpu_dc_request(&c, "DELETE", path, &r);
fail_child:
	if (go_fd >= 0)
		close(go_fd);
	if (err_fd >= 0)
		close(err_fd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	jpu_dc_close(&c);
	return EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	struct cli o;
	int r;

	memset(&o, 0, sizeof(o));
	o.scope = JPU_SCOPE_SYSTEM;
	r = parse_args(argc, argv, &o);
	if (r < 0)
		return EXIT_USAGE;
	if (r > 0)
		return EXIT_SUCCESS;
	if (o.daemon)
		return o.run ? cmd_run_daemon(&o) : cmd_watch_daemon(&o);
	return o.run ? cmd_run(&o) : cmd_watch(&o);
}
