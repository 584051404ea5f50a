import { describe, expect, it } from 'vitest';
import { ApiError, isUnavailable } from './errors.js';

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
