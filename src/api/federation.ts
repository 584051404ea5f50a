// Cross-cluster federation (ours, not kcp-operator's): a RootShard accepts shards that run on other
// clusters (or in other namespaces), and a Shard joins a RootShard through the join ConfigMap that
// RootShard publishes. Every field is optional, so kcp-operator manifests apply unchanged. The
// protocol is described in docs/federation.md; src/federation holds its pure parts.
import { DNS1123_SUBDOMAIN, DURATION, celIsDuration } from './formats.js';
import { array, extension, object, rule, string, type JSONSchemaProps } from './schema.js';

const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

/** One remote shard (or a family of them, by glob) that a RootShard accepts. */
export interface FederationAcceptRule {
  /** The cluster the Shard runs on, as its sync sidecar names itself (--cluster-name). Glob. */
  cluster: string;
  /** The Shard's namespace on that cluster. Glob. */
  namespace: string;
  /** The Shard's name. Glob. */
  shard: string;
}

/** Kubeconfigs of remote teams that a RootShard signs client certificates for. */
export interface KubeconfigAcceptRule {
  cluster: string;
  namespace: string;
  /** The Kubeconfig's name. Glob. */
  name: string;
  /** User names it may ask for. Globs; a `system:` name only by a pattern that starts with `system:`. */
  usernames: string[];
  /** Groups it may ask for (each must match one). Globs; a `system:` group only by a pattern that starts with `system:`. */
  groups?: string[];
}

export interface RootShardFederation {
  accept?: FederationAcceptRule[];
  acceptKubeconfigs?: KubeconfigAcceptRule[];
  /** Where join requests land on this cluster; default the RootShard's namespace. */
  requestNamespace?: string;
  /** Longest validity signed for a remote shard's certificate (Go duration); default 8760h. */
  maxCertificateDuration?: string;
}

/** Shard.spec.rootShard.joinRef: the join ConfigMap a RootShard published, replicated here. */
export interface JoinReference {
  name: string;
}

/** Globs as the sync sidecar reads them: `*` and `?` within one name, nothing else special. */
const GLOB_SEGMENT = '^[a-z0-9*?]([-a-z0-9.*?]*[a-z0-9*?])?$';

const glob = (what: string) =>
  string(`${what}. A name or a glob (\`*\` any run of characters, \`?\` one character).`, { pattern: GLOB_SEGMENT, maxLength: 253 });

export function federationSchema(): JSONSchemaProps {
  return object(
    extension(
      'Shards on other clusters (or in other namespaces) that may join this installation, through the sync ' +
        'sidecar. Nobody joins unless accepted here. The operator publishes a join ConfigMap `<rootshard>-federation` ' +
        '(no private keys) to the accepted clusters and namespaces, and signs only certificate requests of accepted ' +
        'shards for exactly the identities a shard of that name gets. See docs/federation.md.',
    ),
    {
      accept: array(
        'Remote shards this installation accepts. Empty or unset: none.',
        object(
          'An accepted shard, by the cluster it runs on, its namespace there and its name.',
          {
            cluster: glob('The sync sidecar name (`--cluster-name`) of the cluster the Shard runs on'),
            namespace: glob('The Shard\'s namespace on that cluster'),
            shard: glob('The Shard\'s name'),
          },
          { required: ['cluster', 'namespace', 'shard'] },
        ),
        { maxItems: 64 },
      ),
      acceptKubeconfigs: array(
        'Kubeconfigs on other clusters (Kubeconfig `spec.target.joinRef`) whose client certificates this installation ' +
          'signs. The client key stays where it was made. Empty or unset: none.',
        object(
          'Accepted Kubeconfigs, by cluster, namespace and name, and the identities they may carry.',
          {
            cluster: glob('The sync sidecar name (`--cluster-name`) of the cluster the Kubeconfig is on'),
            namespace: glob('The Kubeconfig\'s namespace on that cluster'),
            name: glob('The Kubeconfig\'s name'),
            usernames: array(
              'User names it may ask for, as globs. A name starting with `system:` is admitted only by a pattern that ' +
                'starts with `system:` too.',
              string('A user name or glob.', { minLength: 1, maxLength: 256 }),
              { minItems: 1, maxItems: 64 },
            ),
            groups: array(
              'Groups it may ask for, as globs; every group asked for must match one. Unset: none. A group starting with ' +
                '`system:` (such as `system:masters`) is admitted only by a pattern that starts with `system:` too.',
              string('A group name or glob.', { minLength: 1, maxLength: 256 }),
              { maxItems: 64 },
            ),
          },
          { required: ['cluster', 'namespace', 'name', 'usernames'] },
        ),
        { maxItems: 64 },
      ),
      requestNamespace: string(
        'The namespace on this cluster where remote shards\' join requests land (their sidecars need write access ' +
          'to ConfigMaps there, and nowhere else). Defaults to the RootShard\'s namespace.',
        { pattern: DNS1123_LABEL, maxLength: 63 },
      ),
      maxCertificateDuration: string(
        'The longest validity signed for a remote shard\'s certificate, as a Go duration. Defaults to `8760h` (one year). ' +
          'Longer requests are refused.',
        { pattern: DURATION, maxLength: 32, rules: [rule(celIsDuration('self'), 'maxCertificateDuration must be a Go duration such as 8760h')] },
      ),
    },
  );
}

export function joinRefSchema(
  description = 'Join a RootShard on another cluster (or in another namespace) instead of a local one: the name of the ' +
    'join ConfigMap that RootShard published, as the sync sidecar replicated it into this namespace. ' +
    'Private keys are generated here and never leave; certificates are requested from the RootShard\'s ' +
    'cluster. See docs/federation.md.',
): JSONSchemaProps {
  return object(
    extension(description),
    { name: string('Name of the join ConfigMap in this namespace.', { pattern: DNS1123_SUBDOMAIN, maxLength: 253 }) },
    { required: ['name'], mapType: 'atomic' },
  );
}
