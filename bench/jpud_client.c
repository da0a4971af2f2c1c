/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Load client for jpud's Unix socket API: C concurrent keep-alive
 * connections, each sending GET requests back to back for S seconds; prints
 * the count, errors and latency percentiles of one path, so a baseline path
 * (/healthz: no engine) and the measured one (/v1/sample) can be compared
 * in one command (bench/bench_jpud.py does).
 *
 *   jpud_client SOCKET PATH CONNECTIONS SECONDS
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES (1u << 20)

struct worker {
	pthread_t t;
	const char *sock, *path;
	double seconds;
	uint64_t ok, errors, non200;
	uint32_t *lat_usec; /* per request */
	size_t n_lat;
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One response: headers, then Content-Length bytes. Returns the status or
 * -1 when the connection failed. */
static int read_response(int fd, char *buf, size_t cap)
{
	size_t have = 0, need = 0;
	char *end = NULL;
	int status;

	for (;;) {
		ssize_t n = read(fd, buf + have, cap - 1 - have);

		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strstr(buf, "Content-Length: ");

			if (!cl || sscanf(cl + 16, "%zu", &need) != 1)
				return -1;
			need += (size_t)(end + 4 - buf);
		}
		if (end && have >= need)
			break;
		if (have + 1 >= cap)
			return -1;
	}
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		return -1;
	return status;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	char req[256], buf[1 << 16];
	uint64_t end = now_usec() + (uint64_t)(w->seconds * 1e6);
	int fd = connect_to(w->sock);
	int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: jpud\r\n\r\n", w->path);

	while (now_usec() < end) {
		uint64_t t0 = now_usec();
		int st;

		if (fd < 0 && (fd = connect_to(w->sock)) < 0) {
			w->errors++;
			continue;
		}
		if (write(fd, req, (size_t)len) != len ||
		    (st = read_response(fd, buf, sizeof buf)) < 0) {
			w->errors++;
			close(fd);
			fd = -1;
			continue;
		}
		if (st != 200)
			w->non200++;
		else
			w->ok++;
		if (w->n_lat < MAX_SAMPLES)
			w->lat_usec[w->n_lat++] = (uint32_t)(now_usec() - t0);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct worker *w;
	uint32_t *all;
	size_t n = 0;
	uint64_t ok = 0, errors = 0, non200 = 0;
	int conns;
	double secs;

	if (argc != 5 || (conns = atoi(argv[3])) <= 0 || (secs = atof(argv[4])) <= 0) {
		fprintf(stderr, "usage: jpud_client SOCKET PATH CONNECTIONS SECONDS\n");
		return 2;
	}
	w = calloc((size_t)conns, sizeof *w);
	if (!w)
		return 1;
	for (int i = 0; i < conns; i++) {
		w[i] = (struct worker){.sock = argv[1], .path = argv[2], .seconds = secs};
		w[i].lat_usec = malloc(MAX_SAMPLES * sizeof(uint32_t));
		if (!w[i].lat_usec)
			return 1;
	}
	for (int i = 0; i < conns; i++)
		pthread_create(&w[i].t, NULL, run, &w[i]);
	for (int i = 0; i < conns; i++) {
		pthread_join(w[i].t, NULL);
		n += w[i].n_lat;
	}
	all = malloc((n ? n : 1) * sizeof *all);
	if (!all)
		return 1;
	n = 0;
	for (int i = 0; i < conns; i++) {
		memcpy(all + n, w[i].lat_usec, w[i].n_lat * sizeof *all);
		n += w[i].n_lat;
		ok += w[i].ok;
		errors += w[i].errors;
		non200 += w[i].non200;
	}
	qsort(all, n, sizeof *all, cmp_u32);
	printf("{\"path\":\"%s\",\"connections\":%d,\"seconds\":%.1f,\"requests\":%zu,\"ok\":%llu,"
	       "\"non200\":%llu,\"errors\":%llu,\"rps\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
	       "\"max_ms\":%.3f}\n",
	       argv[2], conns, secs, n, (unsigned long long)ok, (unsigned long long)non200,
	       (unsigned long long)errors, (double)n / secs, n ? all[n / 2] / 1e3 : 0.0,
	       n ? all[(size_t)((double)n * 0.99)] / 1e3 : 0.0, n ? all[n - 1] / 1e3 : 0.0);
	return errors || non200 ? 1 : 0;
}
