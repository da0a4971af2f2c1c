/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The socket API's requests, checked strictly before anything runs: the
 * route, the scope and the arguments. libmicrohttpd parses HTTP and
 * decodes the query; this module decides what a request means and says
 * precisely what is wrong with one it refuses (a libFuzzer target runs it).
 */
#ifndef JPUD_REQUEST_H
#define JPUD_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum jpud_route {
	JPUD_SAMPLE = 0, /* GET /v1/sample */
	JPUD_HISTORY,    /* GET /v1/history */
	JPUD_TRACK,      /* POST /v1/track?pid=N&tag=T */
	JPUD_UNTRACK,    /* DELETE /v1/track/TAG */
	JPUD_TRACKED,    /* GET /v1/tracked */
	JPUD_METRICS,    /* GET /metrics (TCP listener only) */
	JPUD_HEALTH,     /* GET /healthz */
};

/* What the caller asked to see. `user` is the caller's own uid (or its
 * container, when it runs in one): never a uid named in the request. */
enum jpud_scope {
	JPUD_SCOPE_SYSTEM = 0,
	JPUD_SCOPE_USER,
	JPUD_SCOPE_CONTAINER,
	JPUD_SCOPE_PROCESS,
};

#define JPUD_TAG_MAX 64

struct jpud_arg {
	const char *key, *value; /* decoded; value may be NULL ("?flag") */
};

struct jpud_request {
	enum jpud_route route;
	enum jpud_scope scope;
	int scope_given;            /* the request named a scope */
	pid_t pid;                  /* process scope and track: as the caller sees it; 0 = none */
	uint64_t since_usec;        /* history: CLOCK_REALTIME µs, 0 = all */
	char tag[JPUD_TAG_MAX + 1]; /* track and untrack */
};

/*
 * Decide what (method, path, args) asks for. Returns 0, -ENOENT for a path
 * that is no route (404), -EOPNOTSUPP for a method the route does not take
 * (405), -EINVAL for a bad argument (400); *ret_err then says what, in a
 * static string. `tcp` is whether it came on the Prometheus listener,
 * which serves /metrics and /healthz only.
 */
int jpud_request_parse(const char *method, const char *path, const struct jpud_arg *args,
                       size_t n_args, int tcp, struct jpud_request *ret, const char **ret_err);

const char *jpud_scope_name(enum jpud_scope s);

#endif /* JPUD_REQUEST_H */
