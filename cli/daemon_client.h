/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small HTTP/1.1 client for jpud's socket API over AF_UNIX: one request
 * at a time on a keep-alive connection, answers with a Content-Length body
 * only. The response parser is strict (status line, header syntax, one
 * Content-Length) and refuses answers over JPU_DC_MAX_RESPONSE; a libFuzzer
 * target runs it (tests/fuzz/fuzz_daemon_response.c).
 */
#ifndef JPU_DAEMON_CLIENT_H
#define JPU_DAEMON_CLIENT_H

#include <stddef.h>

/* A history answer of a busy node is the largest: 4 MiB is ample. */
#define JPU_DC_MAX_RESPONSE (4u << 20)
#define JPU_DC_MAX_HEAD     8192u

struct jpu_dc_response {
	int status;       /* 100-599 */
	size_t head_len;  /* bytes of status line and headers, blank line included */
	size_t body_len;  /* Content-Length */
	long retry_after; /* seconds; -1 = no Retry-After */
	int close;        /* Connection: close */
	const char *body; /* points into the parsed buffer */
};

/*
 * Parse the answer in buf[0..len). Returns 0 when it is complete (the
 * answer takes r->head_len + r->body_len bytes), -EAGAIN when more bytes
 * are needed, -EBADMSG when it is malformed, -E2BIG when its head or body
 * is over the limits.
 */
int jpu_dc_parse_response(const char *buf, size_t len, struct jpu_dc_response *r);

struct jpu_dc {
	char path[108]; /* sun_path */
	int fd;         /* -1 = not connected */
	char *buf;      /* the last answer; r.body points into it */
	size_t cap;
};

/* Returns 0, or -ENAMETOOLONG for a path that does not fit sun_path. */
int jpu_dc_init(struct jpu_dc *c, const char *path);
void jpu_dc_close(struct jpu_dc *c);

/*
 * Send `method path` and read the answer into *r (valid until the next
 * call). Connects (again) as needed: a keep-alive connection the daemon
 * closed in between is retried once on a fresh one. Returns 0 or -errno
 * (-ENOENT/-ECONNREFUSED: no daemon at the path, -EACCES, -EBADMSG/-E2BIG
 * from the parser, -ETIMEDOUT after 10 s without an answer).
 */
int jpu_dc_request(struct jpu_dc *c, const char *method, const char *path,
                   struct jpu_dc_response *r);

/*
 * Just enough JSON to read the daemon's answers (jpu_engine_json's): the
 * text is the daemon's, already parsed by it, so these only walk it.
 * jpu_dc_json_skip returns the end of the value at v (or NULL when it is
 * malformed); jpu_dc_json_get the value of a member of the object at v
 * (or NULL); jpu_dc_json_string copies a string value without its quotes
 * (escapes kept as written) and returns 0 or -EINVAL.
 */
const char *jpu_dc_json_skip(const char *v);
const char *jpu_dc_json_get(const char *v, const char *key);
int jpu_dc_json_number(const char *v, double *ret);
int jpu_dc_json_string(const char *v, char *out, size_t size);

#endif
