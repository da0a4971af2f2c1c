/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CPython binding: thin, like psutil's C modules (STYLE rule 20). It
 * parses arguments, runs libjpu with the GIL released, turns -errno into
 * OSError and returns plain objects (JSON text that jpu/__init__.py loads).
 * Names, units and defaults live in jpu/__init__.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpu/jpu.h"

/* Every call runs the engine with the GIL released, so another thread may
 * call close() meanwhile. A call counts itself in `calls` (under `mu`, not
 * the GIL) for as long as it uses the engine; close() refuses new calls,
 * waits for the count to drop to zero and only then frees the engine. A
 * call that comes after close() began gets ValueError("engine is closed"),
 * never a freed engine. */
typedef struct {
	PyObject_HEAD jpu_engine *engine;
	pthread_mutex_t mu;
	pthread_cond_t idle; /* calls fell to 0, or a close() ended */
	unsigned calls;      /* calls using engine now */
	bool closing;        /* close() has begun: no new calls */
	bool initialising;   /* __init__ is building the engine */
} EngineObject;

/* Log lines go to Python's logging through a callable set by __init__.py.
 * log_callable is read and replaced only with the GIL held; log_wanted
 * lets threads skip taking the GIL when no callable is set (and after the
 * interpreter began to exit: __init__.py clears it at exit). */
static PyObject *log_callable;
static atomic_bool log_wanted;

/* The last error the engine logged on this thread: it names the bad option,
 * so the OSError raised for the call carries it. */
static _Thread_local char last_error[512];

static void log_to_python(int level, const char *msg, void *userdata)
{
	PyGILState_STATE g;
	PyObject *fn, *r;

	(void)userdata;
	if (level <= JPU_LOG_ERR)
		snprintf(last_error, sizeof last_error, "%s", msg);
	if (!atomic_load(&log_wanted) || !Py_IsInitialized())
		return;
	g = PyGILState_Ensure();
	/* held for the call: set_log() may replace it while Python runs */
	fn = log_callable;
	Py_XINCREF(fn);
	if (fn) {
		r = PyObject_CallFunction(fn, "is", level, msg);
		if (!r)
			PyErr_Clear();
		Py_XDECREF(r);
		Py_DECREF(fn);
	}
	PyGILState_Release(g);
}

static PyObject *errno_error(int r, const char *what)
{
	errno = -r;
	if (last_error[0]) {
		PyErr_SetFromErrnoWithFilename(PyExc_OSError, last_error);
		last_error[0] = '\0';
		return NULL;
	}
	return PyErr_SetFromErrnoWithFilename(PyExc_OSError, what);
}

static int Engine_init(EngineObject *self, PyObject *args, PyObject *kw)
{
	static char *keywords[] = {"scope",   "pid",     "uid",           "sysfs",
	                           "procfs",  "nvml",    "interval_usec", "idle_policy",
	                           "history", "sensors", "state_file",    "mem_bytes",
	                           "ncpu",    NULL};
	int scope = 0, pid = 0, idle = 0;
	long long uid = -1;
	unsigned long long interval = 0, mem = 0;
	unsigned history = 0, ncpu = 0;
	const char *sysfs = NULL, *procfs = NULL, *nvml = NULL, *sensors = NULL, *state = NULL;
	jpu_engine_opts o;
	jpu_engine *e = NULL;
	PyThreadState *ts;
	int r;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|iiLzzzKiIzzKI", keywords, &scope, &pid, &uid,
	                                 &sysfs, &procfs, &nvml, &interval, &idle, &history,
	                                 &sensors, &state, &mem, &ncpu))
		return -1;
	pthread_mutex_lock(&self->mu);
	r = self->engine || self->initialising || self->closing;
	if (!r)
		self->initialising = true;
	pthread_mutex_unlock(&self->mu);
	if (r) {
		PyErr_SetString(PyExc_RuntimeError, "engine already initialised");
		return -1;
	}
	memset(&o, 0, sizeof o);
	o.sz = sizeof o;
	o.scope = (enum jpu_scope)scope;
	o.pid = (pid_t)pid;
	o.uid = (uid_t)uid;
	o.sysfs_root = sysfs;
	o.procfs_root = procfs;
	o.nvml_library = nvml;
	o.interval_usec = interval;
	o.idle_policy = (enum jpu_idle_policy)idle;
	o.history_len = history;
	o.sensors = sensors;
	o.state_file = state;
	o.mem_bytes = mem;
	o.ncpu = ncpu;
	o.log = log_to_python;
	ts = PyEval_SaveThread();
	r = jpu_engine_new(&o, &e);
	PyEval_RestoreThread(ts);
	pthread_mutex_lock(&self->mu);
	self->initialising = false;
	if (r >= 0)
		self->engine = e;
	pthread_mutex_unlock(&self->mu);
	if (r < 0) {
		errno_error(r, "jpu_engine_new");
		return -1;
	}
	return 0;
}

static PyObject *Engine_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	EngineObject *self = (EngineObject *)PyType_GenericNew(type, args, kw);

	if (!self)
		return NULL;
	if (pthread_mutex_init(&self->mu, NULL)) {
		Py_TYPE(self)->tp_free((PyObject *)self);
		return PyErr_NoMemory();
	}
	if (pthread_cond_init(&self->idle, NULL)) {
		pthread_mutex_destroy(&self->mu);
		Py_TYPE(self)->tp_free((PyObject *)self);
		return PyErr_NoMemory();
	}
	return (PyObject *)self;
}

/* No call can be in progress here: each holds a reference to self. */
static void Engine_dealloc(EngineObject *self)
{
	jpu_engine *e = self->engine;
	PyThreadState *ts;

	self->engine = NULL;
	ts = PyEval_SaveThread();
	jpu_engine_free(e);
	PyEval_RestoreThread(ts);
	pthread_cond_destroy(&self->idle);
	pthread_mutex_destroy(&self->mu);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Begin a call: the engine, counted as in use, or NULL with ValueError
 * once close() has begun. Pair with leave(). */
static jpu_engine *enter(EngineObject *self)
{
	jpu_engine *e;

	pthread_mutex_lock(&self->mu);
	e = self->closing ? NULL : self->engine;
	if (e)
		self->calls++;
	pthread_mutex_unlock(&self->mu);
	if (!e)
		PyErr_SetString(PyExc_ValueError, "engine is closed");
	return e;
}

static void leave(EngineObject *self)
{
	pthread_mutex_lock(&self->mu);
	if (--self->calls == 0)
		pthread_cond_broadcast(&self->idle);
	pthread_mutex_unlock(&self->mu);
}

/* Waits, with the GIL released, for the calls in progress (a wait() at most
 * its timeout), then frees the engine. A second close() returns once the
 * first has freed it. mu is not held across jpu_engine_free(): its join of
 * the sampler thread may need the GIL (log lines), and threads holding the
 * GIL may be waiting for mu in enter(). */
static PyObject *Engine_close(EngineObject *self, PyObject *unused)
{
	jpu_engine *e = NULL;
	PyThreadState *ts = PyEval_SaveThread();

	pthread_mutex_lock(&self->mu);
	if (self->closing) {
		while (self->closing)
			pthread_cond_wait(&self->idle, &self->mu);
	} else if (self->engine) {
		self->closing = true;
		while (self->calls > 0)
			pthread_cond_wait(&self->idle, &self->mu);
		e = self->engine;
		self->engine = NULL;
	}
	pthread_mutex_unlock(&self->mu);
	if (e) {
		jpu_engine_free(e);
		pthread_mutex_lock(&self->mu);
		self->closing = false;
		pthread_cond_broadcast(&self->idle);
		pthread_mutex_unlock(&self->mu);
	}
	PyEval_RestoreThread(ts);
	Py_RETURN_NONE;
}

/* Calls returning 0/-errno with no result. */
#define SIMPLE_CALL(fn, what)                                                                      \
	static PyObject *Engine_##fn(EngineObject *self, PyObject *unused)                         \
	{                                                                                          \
		jpu_engine *e = enter(self);                                                       \
		int r;                                                                             \
		if (!e)                                                                            \
			return NULL;                                                               \
		Py_BEGIN_ALLOW_THREADS r = jpu_engine_##fn(e);                                     \
		leave(self);                                                                       \
		Py_END_ALLOW_THREADS if (r < 0) return errno_error(r, what);                       \
		return PyLong_FromLong(r);                                                         \
	}

SIMPLE_CALL(start, "jpu_engine_start")
SIMPLE_CALL(stop, "jpu_engine_stop")
SIMPLE_CALL(sample, "jpu_engine_sample")

static PyObject *text_result(int r, char *text, const char *what)
{
	PyObject *o;

	if (r == -EAGAIN)
		Py_RETURN_NONE;
	if (r < 0)
		return errno_error(r, what);
	o = PyUnicode_FromString(text);
	free(text);
	return o;
}

/* Calls returning text. */
#define TEXT_CALL(name, call, what)                                                                \
	static PyObject *Engine_##name(EngineObject *self, PyObject *unused)                       \
	{                                                                                          \
		jpu_engine *e = enter(self);                                                       \
		char *text = NULL;                                                                 \
		int r;                                                                             \
		if (!e)                                                                            \
			return NULL;                                                               \
		Py_BEGIN_ALLOW_THREADS r = call(e, &text);                                         \
		leave(self);                                                                       \
		Py_END_ALLOW_THREADS return text_result(r, text, what);                            \
	}

TEXT_CALL(json, jpu_engine_json, "jpu_engine_json")
TEXT_CALL(prometheus, jpu_engine_prometheus, "jpu_engine_prometheus")
TEXT_CALL(diagnostics_json, jpu_engine_diagnostics_json, "jpu_engine_diagnostics_json")
TEXT_CALL(tracked_json, jpu_tracked_json, "jpu_tracked_json")

static PyObject *Engine_history_json(EngineObject *self, PyObject *args)
{
	jpu_engine *e;
	unsigned long long since = 0;
	char *text = NULL;
	int r;

	if (!PyArg_ParseTuple(args, "|K", &since) || !(e = enter(self)))
		return NULL;
	Py_BEGIN_ALLOW_THREADS r = jpu_engine_history_json(e, since, &text);
	leave(self);
	Py_END_ALLOW_THREADS return text_result(r, text, "jpu_engine_history_json");
}

static PyObject *Engine_wait(EngineObject *self, PyObject *args)
{
	jpu_engine *e;
	long long seq = 0;
	unsigned long long timeout = 0;
	int64_t r;

	if (!PyArg_ParseTuple(args, "LK", &seq, &timeout) || !(e = enter(self)))
		return NULL;
	Py_BEGIN_ALLOW_THREADS r = jpu_engine_wait(e, seq, timeout);
	leave(self);
	Py_END_ALLOW_THREADS if (r == -ETIMEDOUT) Py_RETURN_NONE;
	if (r < 0)
		return errno_error((int)r, "jpu_engine_wait");
	return PyLong_FromLongLong(r);
}

static PyObject *Engine_track(EngineObject *self, PyObject *args)
{
	jpu_engine *e;
	const char *tag;
	int pid, r;

	if (!PyArg_ParseTuple(args, "is", &pid, &tag) || !(e = enter(self)))
		return NULL;
	Py_BEGIN_ALLOW_THREADS r = jpu_track(e, (pid_t)pid, tag);
	leave(self);
	Py_END_ALLOW_THREADS if (r < 0) return errno_error(r, "jpu_track");
	Py_RETURN_NONE;
}

static PyObject *Engine_untrack(EngineObject *self, PyObject *args)
{
	jpu_engine *e;
	const char *tag;
	int r;

	if (!PyArg_ParseTuple(args, "s", &tag) || !(e = enter(self)))
		return NULL;
	Py_BEGIN_ALLOW_THREADS r = jpu_untrack(e, tag);
	leave(self);
	Py_END_ALLOW_THREADS if (r == -ENOENT)
	{
		PyErr_SetString(PyExc_KeyError, tag);
		return NULL;
	}
	if (r < 0)
		return errno_error(r, "jpu_untrack");
	Py_RETURN_NONE;
}

static PyObject *Engine_set_carbon(EngineObject *self, PyObject *args, PyObject *kw)
{
	static char *keywords[] = {"provider",  "country",     "postcode", "intensity_mg_per_kwh",
	                           "pue_milli", "emaps_token", "urls",     "timeout_usec",
	                           NULL};
	jpu_engine *e;
	const char *provider = NULL, *country = NULL, *postcode = NULL, *token = NULL;
	unsigned intensity = 0, pue = 0;
	unsigned long long timeout = 0;
	PyObject *urls = NULL;
	jpu_engine_opts o;
	Py_ssize_t n = 0;
	int r;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|zzzIIzOK", keywords, &provider, &country,
	                                 &postcode, &intensity, &pue, &token, &urls, &timeout))
		return NULL;
	memset(&o, 0, sizeof o);
	o.sz = sizeof o;
	if (urls && urls != Py_None) {
		if (!PyTuple_Check(urls)) {
			PyErr_SetString(PyExc_TypeError, "urls: expected a tuple of 'name=url'");
			return NULL;
		}
		n = PyTuple_GET_SIZE(urls);
		if (n > (Py_ssize_t)(sizeof o.carbon_urls / sizeof o.carbon_urls[0])) {
			PyErr_SetString(PyExc_ValueError, "urls: at most 8");
			return NULL;
		}
		for (Py_ssize_t i = 0; i < n; i++) {
			/* borrowed from the tuple, which outlives the call */
			o.carbon_urls[i] = PyUnicode_AsUTF8(PyTuple_GET_ITEM(urls, i));
			if (!o.carbon_urls[i])
				return NULL;
		}
	}
	o.carbon_provider = provider;
	o.country = country;
	o.postcode = postcode;
	o.intensity_mg_per_kwh = intensity;
	o.pue_milli = pue;
	o.emaps_token = token;
	o.carbon_timeout_usec = timeout;
	e = enter(self);
	if (!e)
		return NULL;
	Py_BEGIN_ALLOW_THREADS r = jpu_engine_set_carbon(e, &o);
	leave(self);
	Py_END_ALLOW_THREADS if (r < 0) return errno_error(r, "jpu_engine_set_carbon");
	Py_RETURN_NONE;
}

static PyMethodDef Engine_methods[] = {
        {"set_carbon", (PyCFunction)(void (*)(void))Engine_set_carbon, METH_VARARGS | METH_KEYWORDS,
         "Replace the carbon settings."},
        {"close", (PyCFunction)Engine_close, METH_NOARGS,
         "Stop sampling and free the engine once calls in progress on other threads return."},
        {"start", (PyCFunction)Engine_start, METH_NOARGS, "Start the sampler thread."},
        {"stop", (PyCFunction)Engine_stop, METH_NOARGS, "Stop the sampler thread."},
        {"sample", (PyCFunction)Engine_sample, METH_NOARGS, "Take one sample now."},
        {"wait", (PyCFunction)Engine_wait, METH_VARARGS, "wait(seq, timeout_usec) -> seq|None"},
        {"json", (PyCFunction)Engine_json, METH_NOARGS, "Latest sample as JSON text or None."},
        {"prometheus", (PyCFunction)Engine_prometheus, METH_NOARGS, "Prometheus text."},
        {"diagnostics_json", (PyCFunction)Engine_diagnostics_json, METH_NOARGS, "Diagnostics."},
        {"tracked_json", (PyCFunction)Engine_tracked_json, METH_NOARGS, "Tracked trees."},
        {"history_json", (PyCFunction)Engine_history_json, METH_VARARGS, "History since µs."},
        {"track", (PyCFunction)Engine_track, METH_VARARGS, "track(pid, tag)"},
        {"untrack", (PyCFunction)Engine_untrack, METH_VARARGS, "untrack(tag)"},
        {NULL, NULL, 0, NULL},
};

static PyTypeObject EngineType = {
        PyVarObject_HEAD_INIT(NULL, 0).tp_name = "jpu._jpu.Engine",
        .tp_basicsize = sizeof(EngineObject),
        .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
        .tp_doc = "libjpu engine (use jpu.Engine)",
        .tp_new = Engine_new,
        .tp_init = (initproc)Engine_init,
        .tp_dealloc = (destructor)Engine_dealloc,
        .tp_methods = Engine_methods,
};

static PyObject *set_log(PyObject *mod, PyObject *fn)
{
	PyObject *old = log_callable;

	log_callable = fn == Py_None ? NULL : fn;
	Py_XINCREF(log_callable);
	atomic_store(&log_wanted, log_callable != NULL);
	/* last: its destructor may run Python code that logs */
	Py_XDECREF(old);
	Py_RETURN_NONE;
}

static PyObject *version(PyObject *mod, PyObject *unused)
{
	return PyUnicode_FromString(jpu_version());
}

static PyMethodDef module_methods[] = {
        {"set_log", set_log, METH_O, "Set the callable(level, message) for engine logs."},
        {"version", version, METH_NOARGS, "libjpu version."},
        {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
        PyModuleDef_HEAD_INIT, "_jpu", "libjpu binding", -1, module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__jpu(void);
PyMODINIT_FUNC PyInit__jpu(void)
{
	PyObject *m;

	if (PyType_Ready(&EngineType) < 0)
		return NULL;
	m = PyModule_Create(&module);
	if (!m)
		return NULL;
	Py_INCREF(&EngineType);
	if (PyModule_AddObject(m, "Engine", (PyObject *)&EngineType) < 0) {
		Py_DECREF(&EngineType);
		Py_DECREF(m);
		return NULL;
	}
	PyModule_AddIntConstant(m, "SCOPE_SYSTEM", JPU_SCOPE_SYSTEM);
	PyModule_AddIntConstant(m, "SCOPE_USER", JPU_SCOPE_USER);
	PyModule_AddIntConstant(m, "SCOPE_PROCESS", JPU_SCOPE_PROCESS);
	return m;
}
