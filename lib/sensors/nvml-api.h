/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The few NVML declarations libjpu uses, written from NVIDIA's public "NVML
 * API Reference Guide" (docs.nvidia.com/deploy/nvml-api/, R515-R590): return
 * codes, the opaque device handle, nvmlProcessInfo_v1_t / nvmlProcessInfo_t
 * (v2 layout) and nvmlProcessUtilizationSample_t. The build never needs CUDA
 * or nvml.h (STYLE rule 13): the library is dlopen'd and every call goes
 * through a pointer of one of the types below.
 *
 * The prototypes are declared so that the test stub (tests/stub_nvml.c) is
 * checked against the same signatures; libjpu never calls them directly.
 */
#ifndef JPU_NVML_API_H
#define JPU_NVML_API_H

/* nvmlReturn_t: the documented values we name (nvmlReturn_enum) */
typedef enum {
	NVML_SUCCESS = 0,
	NVML_ERROR_UNINITIALIZED = 1,
	NVML_ERROR_INVALID_ARGUMENT = 2,
	NVML_ERROR_NOT_SUPPORTED = 3,
	NVML_ERROR_NO_PERMISSION = 4,
	NVML_ERROR_ALREADY_INITIALIZED = 5,
	NVML_ERROR_NOT_FOUND = 6,
	NVML_ERROR_INSUFFICIENT_SIZE = 7,
	NVML_ERROR_INSUFFICIENT_POWER = 8,
	NVML_ERROR_DRIVER_NOT_LOADED = 9,
	NVML_ERROR_TIMEOUT = 10,
	NVML_ERROR_IRQ_ISSUE = 11,
	NVML_ERROR_LIBRARY_NOT_FOUND = 12,
	NVML_ERROR_FUNCTION_NOT_FOUND = 13,
	NVML_ERROR_CORRUPTED_INFOROM = 14,
	NVML_ERROR_GPU_IS_LOST = 15,
	NVML_ERROR_RESET_REQUIRED = 16,
	NVML_ERROR_OPERATING_SYSTEM = 17,
	NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
	NVML_ERROR_IN_USE = 19,
	NVML_ERROR_MEMORY = 20,
	NVML_ERROR_NO_DATA = 21,
	NVML_ERROR_UNKNOWN = 999,
} nvmlReturn_t;

/* Opaque handle (nvmlDevice_st is never defined by the API). */
typedef struct nvmlDevice_st *nvmlDevice_t;

/* NVML_DEVICE_NAME_V2_BUFFER_SIZE: enough for any device name */
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96

/* Running compute process, layout used by the _v2 and _v3 queries
 * (nvmlProcessInfo_v2_t == nvmlProcessInfo_t). */
typedef struct {
	unsigned int pid;
	unsigned long long usedGpuMemory; /* bytes */
	unsigned int gpuInstanceId;       /* MIG only */
	unsigned int computeInstanceId;   /* MIG only */
} nvmlProcessInfo_t;

/* One per-process utilisation sample; timeStamp is a CPU timestamp in µs. */
typedef struct {
	unsigned int pid;
	unsigned long long timeStamp;
	unsigned int smUtil; /* percent */
	unsigned int memUtil;
	unsigned int encUtil;
	unsigned int decUtil;
} nvmlProcessUtilizationSample_t;

/* Required symbols */
nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlShutdown(void);
const char *nvmlErrorString(nvmlReturn_t result);
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device);
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length);
/* milliwatts */
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power);

/* Optional symbols (older drivers lack them) */
/* millijoules since the driver was loaded, Volta and newer */
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy);
/* milliwatts */
nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int *limit);
/* *infoCount in: capacity, out: count; NVML_ERROR_INSUFFICIENT_SIZE when
 * the capacity is too small (count set to what is needed) */
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount,
                                                     nvmlProcessInfo_t *infos);
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount,
                                                     nvmlProcessInfo_t *infos);
/* samples newer than lastSeenTimeStamp (µs; 0 = all buffered);
 * utilization == NULL asks for the count; NVML_ERROR_NOT_FOUND when there
 * is no sample newer than the timestamp */
nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device,
                                             nvmlProcessUtilizationSample_t *utilization,
                                             unsigned int *processSamplesCount,
                                             unsigned long long lastSeenTimeStamp);

#endif /* JPU_NVML_API_H */
