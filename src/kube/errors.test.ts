import { describe, expect, it } from 'vitest';
import { ApiError, isInvalid, isUnavailable } from './errors.js';

describe('isUnavailable', () => {
  it('is true for a server that is away or overloaded, false for errors a retry cannot fix soon', () => {
    const sys = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
    expect(isUnavailable(sys('ECONNREFUSED'))).toBe(true);
    expect(isUnavailable(sys('ECONNRESET'))).toBe(true);
    for (const code of [429, 502, 503, 504]) expect(isUnavailable(new ApiError(code, 'x', 'y')), String(code)).toBe(true);
    for (const code of [400, 403, 404, 409, 410, 422, 500]) expect(isUnavailable(new ApiError(code, 'x', 'y')), String(code)).toBe(false);
    expect(isUnavailable(new TypeError('a bug'))).toBe(false);
    expect(isUnavailable(sys('ENOENT'))).toBe(false);
    expect(isUnavailable(undefined)).toBe(false);
  });
});

describe('isInvalid', () => {
  it('is a 422, or the 500 server-side apply gives for an object its schema cannot merge', () => {
    expect(isInvalid(new ApiError(422, 'Invalid', 'spec.replicas: Invalid value'))).toBe(true);
    expect(isInvalid(new ApiError(500, 'InternalError', 'failed to create typed patch object (ns/x; apps/v1, Kind=Deployment): .spec.template.spec.imagePullSecrets: duplicate entries for key [name="reg"]'))).toBe(true);
    expect(isInvalid(new ApiError(500, 'InternalError', 'etcdserver: request timed out'))).toBe(false);
  });
});
