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
  /** `direct` (combustion only) or `lifecycle` (CO2-equivalent over the plants' life). */
  basis?: string;
  /** When the intensity figure was valid (the provider's data time), ISO 8601. */
  time?: string | null;
  /** The provider failed lately and its last value is being served. */
  stale?: boolean;
  /** The intensity is an annual average, a constant or a modelled value. */
  estimated?: boolean;
  /** Power usage effectiveness the emissions were multiplied by. */
  pue?: number;
  [key: string]: unknown;
}

export interface IDiagnostic {
  sensor?: string;
  reason?: string;
  message?: string;
}

/**
 * Where the figures come from: the node daemon jpud, or the Jupyter server
 * sampling in its own process. Absent in the answers of older servers.
 */
export interface IOrigin {
  /** `daemon`: jpud measures; `server`: this Jupyter server, in-process. */
  kind?: 'daemon' | 'server' | string;
  /** Said to people: "the node daemon jpud", "this Jupyter server". */
  label?: string | null;
  /** The jpud socket configured on the server; null when none is. */
  socket?: string | null;
  /** Kind `server` while a socket is configured: why jpud is not used now. */
  reason?: string | null;
  /** The CPU figure is estimated: the one action that would give measured figures here. */
  action?: string | null;
  /** Nothing on this machine can measure (no action helps): what to know instead. */
  note?: string | null;
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
  origin?: IOrigin | null;
}

/** The body of the 503 answer when the engine could not start. */
export interface IUnavailable {
  error?: string;
  diagnostics?: IDiagnostic[];
  origin?: IOrigin | null;
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
  /** Grams of CO2-equivalent of the scope so far (cumulative), when the server has them. */
  emissions_g?: number | null;
  /** The carbon intensity in force at this sample, in g/kWh. */
  intensity_g_per_kwh?: number | null;
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
  /** Grams of CO2-equivalent of this kernel's process tree so far. */
  emissions_g?: number | null;
  note?: string | null;
}

/**
 * What a fetch of the sample can give: a sample, or the engine's refusal
 * (HTTP 503). Network and other HTTP errors are thrown.
 */
export type SampleResult =
  | { kind: 'sample'; sample: ISample }
  | { kind: 'unavailable'; body: IUnavailable };

/** The carbon settings the front end hands to the server (docs/carbon.md, "Jupyter"). */
export interface ICarbonSettingsBody {
  source: string;
  countryCode: string;
  factor: number;
  emapsAccessToken: string;
}

/** GET/PUT /api/metrics/v1/power_usage/carbon: the carbon settings in force. */
export interface ICarbonAnswer {
  source?: string;
  countryCode?: string;
  postcode?: string;
  factor?: number | null;
  pue?: number;
  /** `"set"` or null: the token itself is never answered. */
  emapsAccessToken?: string | null;
  tokenOrigin?: string | null;
  fromBrowser?: boolean;
  allowBrowserSettings?: boolean;
  /** Browser fields the administrator fixed. */
  locked?: string[];
  /** Browser fields of this request that were not applied (locked). */
  ignored?: string[];
  current?: IEmissions | null;
}

/** The body of a 400/403 answer of the carbon endpoint. */
export interface ICarbonRefusal {
  error?: string;
  message?: string;
  field?: string | null;
}

/** What a PUT of the carbon settings gave. */
export type CarbonPutResult =
  | { kind: 'ok'; answer: ICarbonAnswer }
  | { kind: 'refused'; status: number; body: ICarbonRefusal };
