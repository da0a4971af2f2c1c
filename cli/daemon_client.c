/* SPDX-License-Identifier: BSD-3-Clause */
#include "daemon_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 10000

/* RFC 9110 5.6.2: token characters of a header name */
static bool tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-value characters: VCHAR, SP, HTAB, obs-text; no CTL */
static bool vchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* A decimal of 1-10 digits, nothing else; -1 if not one. */
static long long decimal(const char *s, size_t n)
{
	long long v = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static const char *find_crlfcrlf(const char *buf, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' &&
		    buf[i + 3] == '\n')
			return buf + i;
	return NULL;
}

int jpu_dc_parse_response(const char *buf, size_t len, struct jpu_dc_response *r)
{
	size_t scan = len < JPU_DC_MAX_HEAD ? len : JPU_DC_MAX_HEAD;
	const char *end = find_crlfcrlf(buf, scan), *p, *eol;
	bool have_length = false;
	long long v;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	if (!end)
		return len >= JPU_DC_MAX_HEAD ? -E2BIG : -EAGAIN;
	r->head_len = (size_t)(end - buf) + 4;

	/* status line: HTTP/1.x SP 3DIGIT SP reason CRLF */
	eol = memchr(buf, '\r', (size_t)(end - buf) + 1);
	if (!eol || eol - buf < 13 || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ' || buf[12] != ' ')
		return -EBADMSG;
	v = decimal(buf + 9, 3);
	if (v < 100 || v > 599)
		return -EBADMSG;
	r->status = (int)v;
	for (p = buf + 13; p < eol; p++)
		if (!vchar((unsigned char)*p))
			return -EBADMSG;
	if (eol[1] != '\n')
		return -EBADMSG;

	/* header fields up to the blank line; no obs-fold, no bare CR or LF */
	for (p = eol + 2; p < end + 2; p = eol + 2) {
		const char *colon, *val, *vend;
		size_t nlen;

		eol = memchr(p, '\r', (size_t)(end + 2 - p));
		if (!eol || eol[1] != '\n')
			return -EBADMSG;
		for (colon = p; colon < eol && tchar((unsigned char)*colon); colon++)
			;
		nlen = (size_t)(colon - p);
		if (nlen == 0 || colon == eol || *colon != ':')
			return -EBADMSG;
		for (val = colon + 1; val < eol && (*val == ' ' || *val == '\t'); val++)
			;
		for (vend = eol; vend > val && (vend[-1] == ' ' || vend[-1] == '\t'); vend--)
			;
		for (const char *q = val; q < vend; q++)
			if (!vchar((unsigned char)*q))
				return -EBADMSG;
		if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
			v = decimal(val, (size_t)(vend - val));
			if (v < 0 || have_length)
				return -EBADMSG;
			if (v > (long long)JPU_DC_MAX_RESPONSE)
				return -E2BIG;
			r->body_len = (size_t)v;
			have_length = true;
		} else if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
			return -EBADMSG; /* the daemon sends lengths; chunks are not read */
		} else if (nlen == 11 && strncasecmp(p, "Retry-After", 11) == 0) {
			v = decimal(val, (size_t)(vend - val));
			r->retry_after = v < 0 ? -1 : (long)v; /* an HTTP-date: not used */
		} else if (nlen == 10 && strncasecmp(p, "Connection", 10) == 0) {
			r->close = (size_t)(vend - val) == 5 && strncasecmp(val, "close", 5) == 0;
		}
	}
	if (!have_length && r->status != 204 && r->status != 304)
		return -EBADMSG;
	if (r->status < 200)
		return -EBADMSG; /* no interim answers are asked for */
	if (len - r->head_len < r->body_len)
		return -EAGAIN;
	r->body = buf + r->head_len;
	return 0;
}

int jpu_dc_init(struct jpu_dc *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(path) >= sizeof(c->path))
		return -ENAMETOOLONG;
	strcpy(c->path, path);
	return 0;
}

void jpu_dc_close(struct jpu_dc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->cap = 0;
}

static int dc_connect(struct jpu_dc *c)
{
	struct sockaddr_un a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	strcpy(a.sun_path, c->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	c->fd = fd;
	return 0;
}

static int wait_fd(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	int n;

	do
		n = poll(&p, 1, TIMEOUT_MS);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

/* One exchange on the connected socket. Returns 0, -EPIPE when the peer
 * closed before any byte of the answer (a stale keep-alive), or -errno. */
static int exchange(struct jpu_dc *c, const char *req, size_t req_len, struct jpu_dc_response *r)
{
	size_t off = 0, len = 0;
	int ret;

	while (off < req_len) {
		ssize_t n = send(c->fd, req + off, req_len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ECONNRESET ? -EPIPE : -errno;
		off += (size_t)n;
	}
	for (;;) {
		ssize_t n;

		if (len + 4096 > c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 16384;
			char *b;

			if (cap > JPU_DC_MAX_HEAD + JPU_DC_MAX_RESPONSE + 4096)
				cap = JPU_DC_MAX_HEAD + JPU_DC_MAX_RESPONSE + 4096;
			if (cap <= len)
				return -E2BIG;
			b = realloc(c->buf, cap);
			if (!b)
				return -ENOMEM;
			c->buf = b;
			c->cap = cap;
		}
		ret = wait_fd(c->fd, POLLIN);
		if (ret < 0)
			return ret;
		n = recv(c->fd, c->buf + len, c->cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return len == 0 && errno == ECONNRESET ? -EPIPE : -errno;
		if (n == 0)
			return len == 0 ? -EPIPE : -EBADMSG; /* cut short */
		len += (size_t)n;
		ret = jpu_dc_parse_response(c->buf, len, r);
		if (ret != -EAGAIN)
			break;
	}
	if (ret < 0)
		return ret;
	/* one request at a time: nothing may follow the answer */
	if (len != r->head_len + r->body_len)
		return -EBADMSG;
	/* the body as a C string for the JSON readers: room was left */
	if (len >= c->cap)
		return -E2BIG;
	c->buf[len] = '\0';
	return 0;
}

int jpu_dc_request(struct jpu_dc *c, const char *method, const char *path,
                   struct jpu_dc_response *r)
{
	char req[512];
	int n, ret;

	n = snprintf(req, sizeof(req),
	             "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n"
	             "Content-Length: 0\r\n\r\n",
	             method, path);
	if (n < 0 || (size_t)n >= sizeof(req))
		return -ENAMETOOLONG;
	for (int attempt = 0; attempt < 2; attempt++) {
		bool fresh = c->fd < 0;

		if (fresh) {
			ret = dc_connect(c);
			if (ret < 0)
				return ret;
		}
		ret = exchange(c, req, (size_t)n, r);
		if (ret == 0 && r->close) {
			close(c->fd);
			c->fd = -1;
		}
		if (ret == 0)
			return 0;
		close(c->fd);
		c->fd = -1;
		if (ret != -EPIPE || fresh)
			return ret == -EPIPE ? -ECONNRESET : ret;
	}
	return -ECONNRESET;
}

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

const char *jpu_dc_json_skip(const char *v)
{
	unsigned depth = 0;

	v = ws(v);
	do {
		switch (*v) {
		case '\0':
			return NULL;
		case '"':
			for (v++; *v != '"'; v++) {
				if (!*v)
					return NULL;
				if (*v == '\\' && !*++v)
					return NULL;
			}
			v++;
			break;
		case '{':
		case '[':
			depth++;
			v++;
			break;
		case '}':
		case ']':
			if (depth == 0)
				return NULL;
			depth--;
			v++;
			break;
		default:
			/* a scalar, or the punctuation between members */
			if (depth == 0 && (*v == ',' || *v == ':'))
				return NULL;
			v++;
			if (depth == 0)
				while (*v && !strchr(",}] \t\r\n", *v))
					v++;
			break;
		}
	} while (depth > 0);
	return v;
}

const char *jpu_dc_json_get(const char *v, const char *key)
{
	size_t klen = strlen(key);

	v = ws(v);
	if (*v != '{')
		return NULL;
	v = ws(v + 1);
	if (*v == '}')
		return NULL;
	for (;;) {
		const char *k = v, *end;

		if (*k != '"')
			return NULL;
		end = jpu_dc_json_skip(k);
		if (!end)
			return NULL;
		v = ws(end);
		if (*v != ':')
			return NULL;
		v = ws(v + 1);
		if ((size_t)(end - k) == klen + 2 && memcmp(k + 1, key, klen) == 0)
			return v;
		v = jpu_dc_json_skip(v);
		if (!v)
			return NULL;
		v = ws(v);
		if (*v != ',')
			return NULL;
		v = ws(v + 1);
	}
}

int jpu_dc_json_number(const char *v, double *ret)
{
	char *end;

	if (!v || !((*v >= '0' && *v <= '9') || *v == '-'))
		return -EINVAL;
	errno = 0;
	*ret = strtod(v, &end);
	return errno || end == v ? -EINVAL : 0;
}

int jpu_dc_json_string(const char *v, char *out, size_t size)
{
	const char *end;
	size_t n;

	if (!v || *v != '"' || size == 0)
		return -EINVAL;
	end = jpu_dc_json_skip(v);
	if (!end)
		return -EINVAL;
	n = (size_t)(end - v) - 2;
	if (n >= size)
		n = size - 1;
	memcpy(out, v + 1, n);
	out[n] = '\0';
	return 0;
}
