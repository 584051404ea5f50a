// The one table of kcp flags that only some kcp versions accept, keyed by the image tag. An
// unparsable tag (a branch build, a digest) is treated as the newest kcp.

/** Default kcp version; must equal KCP_VERSION in hack/versions.env (a unit test checks). */
export const DEFAULT_KCP_VERSION = 'v0.32.3';

export interface KcpVersion {
  major: number;
  minor: number;
  patch: number;
}

export function parseKcpVersion(tag: string | undefined): KcpVersion | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(tag ?? '');
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

const atLeast = (v: KcpVersion, minor: number, patch = 0) =>
  v.major > 0 || v.minor > minor || (v.minor === minor && v.patch >= patch);

export interface KcpCapabilities {
  /** --mount-proxy-client-{cert,key}-file and the kcp-mounts-proxy requestheader name (~0.31.6, ≥0.32.3). */
  mountProxy: boolean;
  /** --external-hostname still means something (a hidden no-op from 0.31 on). */
  externalHostnameFlag: boolean;
  /** cache-server accepts --client-ca-file (~0.29.2, ~0.30.2, ≥0.31). */
  cacheServerClientCA: boolean;
}

export function capabilities(tag: string | undefined): KcpCapabilities {
  const v = parseKcpVersion(tag);
  if (!v) return { mountProxy: true, externalHostnameFlag: false, cacheServerClientCA: true };
  return {
    mountProxy: (v.major === 0 && v.minor === 31 && v.patch >= 6) || atLeast(v, 32, 3),
    externalHostnameFlag: !atLeast(v, 31),
    cacheServerClientCA:
      (v.major === 0 && v.minor === 29 && v.patch >= 2) || (v.major === 0 && v.minor === 30 && v.patch >= 2) || atLeast(v, 31),
  };
}
