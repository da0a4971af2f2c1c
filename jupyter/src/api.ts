/**
 * Calls to the server extension, authenticated and same-origin through
 * ServerConnection (it adds the token/XSRF headers).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  CarbonPutResult,
  ICarbonAnswer,
  ICarbonRefusal,
  ICarbonSettingsBody,
  IHistory,
  IKernelRow,
  IUnavailable,
  SampleResult
} from './types';

const BASE = 'api/metrics/v1/power_usage';

async function request(
  path: string,
  settings: ServerConnection.ISettings,
  init: RequestInit = {}
): Promise<Response> {
  const url = URLExt.join(settings.baseUrl, path);
  try {
    return await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
}

async function json<T>(response: Response): Promise<T> {
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

/** The current sample, or the engine's 503 refusal; throws on other errors. */
export async function fetchSample(
  settings: ServerConnection.ISettings
): Promise<SampleResult> {
  const response = await request(BASE, settings);
  if (response.status === 503) {
    let body: IUnavailable = {};
    try {
      body = (await json<IUnavailable>(response)) ?? {};
    } catch (error) {
      body = { error: 'The power engine is not available (HTTP 503).' };
    }
    return { kind: 'unavailable', body };
  }
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response);
  }
  return { kind: 'sample', sample: await json(response) };
}

/** Samples kept by the server since `since` (seconds since the epoch). */
export async function fetchHistory(
  settings: ServerConnection.ISettings,
  since?: number
): Promise<IHistory> {
  const query =
    since !== undefined ? `?since=${encodeURIComponent(String(since))}` : '';
  const response = await request(`${BASE}/history${query}`, settings);
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response);
  }
  const body = await json<IHistory>(response);
  return { interval_s: body?.interval_s, samples: body?.samples ?? [] };
}

/** Power and energy per kernel of this server. */
export async function fetchKernels(
  settings: ServerConnection.ISettings
): Promise<IKernelRow[]> {
  const response = await request(`${BASE}/kernels`, settings);
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response);
  }
  const body = await json<IKernelRow[]>(response);
  return Array.isArray(body) ? body : [];
}

/**
 * Hand the `emissions` settings to our own server (never to a third party:
 * the token goes no further than the server, which keeps it in memory).
 * 400 and 403 come back as a refusal naming the field; other errors throw.
 */
export async function putCarbonSettings(
  settings: ServerConnection.ISettings,
  body: ICarbonSettingsBody
): Promise<CarbonPutResult> {
  const response = await request(`${BASE}/carbon`, settings, {
    method: 'PUT',
    body: JSON.stringify(body)
  });
  if (response.status === 400 || response.status === 403) {
    let refusal: ICarbonRefusal = {};
    try {
      refusal = (await json<ICarbonRefusal>(response)) ?? {};
    } catch (error) {
      refusal = {};
    }
    return { kind: 'refused', status: response.status, body: refusal };
  }
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response);
  }
  return { kind: 'ok', answer: (await json<ICarbonAnswer>(response)) ?? {} };
}
