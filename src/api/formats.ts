// Patterns for string fields. The API server evaluates them with Go's RE2, so they avoid
// look-arounds and back-references. Each is anchored, since OpenAPI patterns are not.

const LABEL = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';
const HOST_LABEL = '[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?';
const HOST = `${HOST_LABEL}(\\.${HOST_LABEL})*`;
// A bracketed IPv6 literal, as it appears in a URL authority.
const IPV6_LITERAL = '\\[[0-9A-Fa-f:.]+\\]';
const PORT = '(:[0-9]{1,5})?';

/** A Go `time.ParseDuration` string without sign, e.g. `8760h0m0s`, `1h`, `90m`, `1.5h`. */
export const DURATION = '^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$';

/** A DNS-1123 subdomain, the shape of most Kubernetes object names (Secrets, ConfigMaps, CRs). */
export const DNS1123_SUBDOMAIN = `^${LABEL}(\\.${LABEL})*$`;

/** An RFC 1123 host name (case-insensitive); IPv4 addresses match too. */
export const HOSTNAME = `^${HOST}$`;

/** A host name as a certificate SAN: like HOSTNAME, with an optional leading `*.` wildcard. */
export const DNS_SAN = `^(\\*\\.)?${HOST}$`;

/** An https URL with a host, an optional port and an optional path; no query or fragment. */
export const HTTPS_URL = `^https://(${HOST}|${IPV6_LITERAL})${PORT}(/[^\\s?#]*)?$`;

/** An https URL of a server root: scheme, host and optional port, no path (a kubeconfig's `server`). */
export const HTTPS_ORIGIN = `^https://(${HOST}|${IPV6_LITERAL})${PORT}/?$`;

/** An http or https URL with a host, an optional port and an optional path. */
export const HTTP_URL = `^https?://(${HOST}|${IPV6_LITERAL})${PORT}(/[^\\s?#]*)?$`;

/** An etcd client endpoint: scheme, host and optional port, nothing else. */
export const ETCD_ENDPOINT = `^https?://(${HOST}|${IPV6_LITERAL})${PORT}/?$`;

/** A kcp workspace path such as `root:org:team` (the form kcp-operator accepts). */
export const WORKSPACE_PATH = `^${LABEL}(:${LABEL})*$`;

/** An absolute URL path (front-proxy path mappings). */
export const URL_PATH = '^/[^\\s?#]*$';

/** An absolute file path inside a container. */
export const FILE_PATH = '^/\\S*$';

/** An OCI image repository without tag or digest, e.g. `ghcr.io/kcp-dev/kcp`, `localhost:5000/kcp`. */
export const IMAGE_REPOSITORY =
  '^[a-z0-9]([-a-z0-9._]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]([-a-z0-9._]*[a-z0-9])?)*$';

/** An OCI image tag. */
export const IMAGE_TAG = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$';

/** A decimal number written as a string (flags that take floats, e.g. audit QPS). */
export const DECIMAL = '^[0-9]+(\\.[0-9]+)?$';

/** A Kubernetes Kind or a cert-manager issuer kind: CamelCase. */
export const KIND = '^[A-Z][A-Za-z0-9]*$';

/** An API group (empty for the core group). */
export const API_GROUP_NAME = `^(${LABEL}(\\.${LABEL})*)?$`;

/** An API group/version as written in `apiVersion`, e.g. `audit.k8s.io/v1`. */
export const GROUP_VERSION = `^(${LABEL}(\\.${LABEL})*/)?v[0-9]+((alpha|beta)[0-9]+)?$`;

/** A loose shape check for IPv4 and IPv6 addresses; CEL `isIP()` checks them properly. */
export const IP_ADDRESS_CHARS = '^[0-9A-Fa-f:.]+$';

/** metav1.Condition `type`, as Kubernetes validates it. */
export const CONDITION_TYPE =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$';

/** metav1.Condition `reason`, as Kubernetes validates it. */
export const CONDITION_REASON = '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$';

/** Builds a CEL expression that is true when `expr` (a string) is a valid DURATION. */
export function celIsDuration(expr: string): string {
  return `${expr}.matches(r'${DURATION}')`;
}
