/**
 * The shapes the server extension returns (DESIGN.md section 3). A part with
 * no data is absent, never 0, so every part is optional here.
 */

/** Where a figure comes from: `rapl`, `hwmon`, `perf`, `nvml` are measured, `estimate` is modelled. */
export type Source = 'rapl' | 'hwmon' | 'perf' | 'nvml' | 'estimate' | string;

export interface IPowerPart {
  /** Power attributed to the scope, in W. */
  usage?: number;
  /** The limit the usage is compared with, in W; null when there is none. */
  limit?: number | null;
  /** The whole machine on the same basis, in W. */
  total?: number;
  /** Machine idle power not attributed to the scope, in W. */
  idle?: number;
  /** The scope's share of the machine, 0..1. */
  share?: number;
  source?: Source;
  [key: string]: unknown;
}

export interface IGpuDevice {
  index?: number;
  name?: string;
  usage?: number;
  total?: number;
  limit?: number | null;
  [key: string]: unknown;
}

export interface IGpuPart extends IPowerPart {
  devices?: IGpuDevice[];
}

export interface IEnergy {
  cpu?: number;
  dram?: number;
  gpu?: number;
  total?: number;
}

export interface IEmissions {
  /** Grams of CO2-equivalent emitted by the scope so far. */
  g?: number;
  intensity_g_per_kwh?: number;
  source?: string;
  zone?: string;
  basis?: string;
  time?: string | null;
  [key: string]: unknown;
}

export interface IDiagnostic {
  sensor?: string;
  reason?: string;
  message?: string;
}

/** GET /api/metrics/v1/power_usage */
export interface ISample {
  time?: string | null;
  interval_s?: number;
  scope?: string;
  cpu?: IPowerPart;
  dram?: IPowerPart;
  psys?: IPowerPart;
  gpu?: IGpuPart;
  energy_j?: IEnergy;
  emissions?: IEmissions;
  diagnostics?: IDiagnostic[];
}

/** The body of the 503 answer when the engine could not start. */
export interface IUnavailable {
  error?: string;
  diagnostics?: IDiagnostic[];
}

/** One point of GET /api/metrics/v1/power_usage/history */
export interface IHistoryPoint {
  time?: string;
  /** Seconds since the epoch. */
  t: number;
  cpu?: number | null;
  cpu_total?: number | null;
  dram?: number | null;
  gpu?: number | null;
  energy_j?: IEnergy | number | null;
}

export interface IHistory {
  interval_s?: number;
  samples: IHistoryPoint[];
}

/** One row of GET /api/metrics/v1/power_usage/kernels */
export interface IKernelRow {
  kernel_id: string;
  name?: string;
  path?: string | null;
  pid?: number | null;
  alive?: boolean;
  power_w?: number | null;
  energy_j?: IEnergy;
  note?: string | null;
}

/**
 * What a fetch of the sample can give: a sample, or the engine's refusal
 * (HTTP 503). Network and other HTTP errors are thrown.
 */
export type SampleResult =
  | { kind: 'sample'; sample: ISample }
  | { kind: 'unavailable'; body: IUnavailable };
