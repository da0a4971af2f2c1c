/* SPDX-License-Identifier: BSD-3-Clause */
/* Strict request checks for the socket API (request.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "internal.h"
#include "request.h"

static const char *const scope_names[] = {
        [JPUD_SCOPE_SYSTEM] = "system",
        [JPUD_SCOPE_USER] = "user",
        [JPUD_SCOPE_CONTAINER] = "container",
        [JPUD_SCOPE_PROCESS] = "process",
};

const char *jpud_scope_name(enum jpud_scope s)
{
	return (unsigned)s < sizeof scope_names / sizeof *scope_names ? scope_names[s] : "?";
}

/* A tag names a kernel or a job: letters, digits and . _ : - only, so it
 * can stand in a URL path, a JSON string and a Prometheus label as is. */
static bool valid_tag(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > JPUD_TAG_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

static int parse_pid(const char *v, pid_t *ret)
{
	uint64_t x;

	if (!v || jpu_parse_u64(v, strlen(v), &x) < 0 || x == 0 || x > 4194304 /* PID_MAX_LIMIT */)
		return -EINVAL;
	*ret = (pid_t)x;
	return 0;
}

/* Which arguments a route takes; anything else is refused, so a typo
 * ("scop=user") is an error rather than a silent default. */
static bool arg_allowed(enum jpud_route r, const char *key)
{
	switch (r) {
	case JPUD_SAMPLE:
		return !strcmp(key, "scope") || !strcmp(key, "pid");
	case JPUD_HISTORY:
		return !strcmp(key, "scope") || !strcmp(key, "pid") || !strcmp(key, "since");
	case JPUD_TRACK:
		return !strcmp(key, "pid") || !strcmp(key, "tag");
	default:
		return false;
	}
}

static int route_of(const char *method, const char *path, int tcp, struct jpud_request *q,
                    const char **err)
{
	static const char track_prefix[] = "/v1/track/";
	const char *want = "GET";

	if (!strcmp(path, "/healthz")) {
		q->route = JPUD_HEALTH;
	} else if (tcp) {
		if (strcmp(path, "/metrics") != 0) {
			*err = "this listener serves /metrics and /healthz only";
			return -ENOENT;
		}
		q->route = JPUD_METRICS;
	} else if (!strcmp(path, "/v1/sample")) {
		q->route = JPUD_SAMPLE;
	} else if (!strcmp(path, "/v1/history")) {
		q->route = JPUD_HISTORY;
	} else if (!strcmp(path, "/v1/tracked")) {
		q->route = JPUD_TRACKED;
	} else if (!strcmp(path, "/v1/track")) {
		q->route = JPUD_TRACK;
		want = "POST";
	} else if (!strncmp(path, track_prefix, sizeof track_prefix - 1)) {
		q->route = JPUD_UNTRACK;
		want = "DELETE";
		if (!valid_tag(path + sizeof track_prefix - 1)) {
			*err = "a tag is 1-64 characters of A-Z a-z 0-9 . _ : -";
			return -EINVAL;
		}
		strcpy(q->tag, path + sizeof track_prefix - 1);
	} else {
		*err = "no such path; see jpud(8) for the API";
		return -ENOENT;
	}
	if (strcmp(method, want) != 0 && !(!strcmp(want, "GET") && !strcmp(method, "HEAD"))) {
		*err = "method not allowed on this path";
		return -EOPNOTSUPP;
	}
	return 0;
}

int jpud_request_parse(const char *method, const char *path, const struct jpud_arg *args,
                       size_t n_args, int tcp, struct jpud_request *ret, const char **ret_err)
{
	struct jpud_request q = {0};
	bool have_pid = false, have_tag = false;
	const char *err = "bad request";
	int r;

	if (!method || !path)
		return -EINVAL;
	r = route_of(method, path, tcp, &q, &err);
	if (r < 0)
		goto fail;
	q.scope = JPUD_SCOPE_USER;
	for (size_t i = 0; i < n_args; i++) {
		const char *k = args[i].key, *v = args[i].value;

		r = -EINVAL;
		if (!k || !arg_allowed(q.route, k)) {
			err = "unknown argument for this path";
			goto fail;
		}
		if (!strcmp(k, "scope")) {
			size_t s;

			for (s = 0; s < sizeof scope_names / sizeof *scope_names; s++)
				if (v && !strcmp(v, scope_names[s]))
					break;
			if (s == sizeof scope_names / sizeof *scope_names || q.scope_given) {
				err = "scope is one of system, user, container, process (once)";
				goto fail;
			}
			q.scope = (enum jpud_scope)s;
			q.scope_given = 1;
		} else if (!strcmp(k, "pid")) {
			if (have_pid || parse_pid(v, &q.pid) < 0) {
				err = "pid is one positive process ID";
				goto fail;
			}
			have_pid = true;
		} else if (!strcmp(k, "since")) {
			if (!v || jpu_parse_u64(v, strlen(v), &q.since_usec) < 0) {
				err = "since is microseconds since the epoch";
				goto fail;
			}
		} else if (!strcmp(k, "tag")) {
			if (have_tag || !v || !valid_tag(v)) {
				err = "a tag is 1-64 characters of A-Z a-z 0-9 . _ : -";
				goto fail;
			}
			strcpy(q.tag, v);
			have_tag = true;
		}
	}
	r = -EINVAL;
	if ((q.route == JPUD_SAMPLE || q.route == JPUD_HISTORY) &&
	    (q.scope == JPUD_SCOPE_PROCESS) != have_pid) {
		err = have_pid ? "pid goes with scope=process" : "scope=process needs pid=N";
		goto fail;
	}
	if (q.route == JPUD_TRACK && (!have_pid || !have_tag)) {
		err = "track needs pid=N and tag=T";
		goto fail;
	}
	*ret = q;
	return 0;
fail:
	if (ret_err)
		*ret_err = err;
	return r;
}
