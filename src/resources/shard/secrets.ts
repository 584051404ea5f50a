// The non-certificate Secrets a shard needs: kubeconfigs pointing at mounted certificate files,
// and the merged CA bundles its flags read.
import type { KubeObject } from '../../kube/object.js';
import { mergeCABundles } from '../../pki/bundle.js';
import { singleKubeconfig } from '../common/kubeconfig.js';
import { componentLabels } from '../common/labels.js';
import { controllerRef } from '../common/owner.js';
import { baseURL, privateExternalURL, rootBaseURL, secretNames, type ShardModel } from './model.js';
import { crt, key, P } from './paths.js';

/** PEM inputs of the merged bundles, read by the controller from the CA Secrets and references. */
export interface BundleInputs {
  rootCA: string;
  serverCA: string;
  clientCA: string;
  /** spec.caBundleSecretRef's tls.crt (the shard's, else its RootShard's). */
  extraCABundle?: string;
  /** clientCABundleRef tls.crt of the RootShard and, for a Shard, its own. */
  extraClientCAs: string[];
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function secret(m: ShardModel, name: string, data: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: m.namespace,
      labels: componentLabels(m.name, m.kind === 'RootShard' ? 'rootshard' : 'shard'),
      ownerReferences: [controllerRef(m.owner)],
    },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

export function shardSecrets(m: ShardModel, bundles: BundleInputs): KubeObject[] {
  const n = secretNames(m);
  const out: KubeObject[] = [
    secret(m, n.logicalClusterAdminKubeconfig, {
      kubeconfig: singleKubeconfig(
        { name: 'logical-cluster:admin', server: baseURL(m), caFile: crt(P.caBundle) },
        { name: 'logical-cluster-admin', certFile: crt(P.logicalClusterAdmin), keyFile: key(P.logicalClusterAdmin) },
        'logical-cluster',
      ),
    }),
    secret(m, n.externalLogicalClusterAdminKubeconfig, {
      kubeconfig: singleKubeconfig(
        { name: 'external-logical-cluster:admin', server: privateExternalURL(m.root.spec), caFile: crt(P.caBundle) },
        { name: 'external-logical-cluster-admin', certFile: crt(P.externalLogicalClusterAdmin), keyFile: key(P.externalLogicalClusterAdmin) },
        'external-logical-cluster',
      ),
    }),
    secret(m, n.mergedCABundle, { 'tls.crt': mergeCABundles([bundles.serverCA, bundles.rootCA, bundles.extraCABundle ?? '']) }),
    secret(m, n.mergedClientCA, { 'tls.crt': mergeCABundles([bundles.clientCA, ...bundles.extraClientCAs]) }),
  ];
  if (m.kind === 'Shard') {
    // kcp reads the root shard kubeconfig's `shard-base` context by name (hard-coded in kcp).
    out.push(
      secret(m, n.clientKubeconfig, {
        kubeconfig: singleKubeconfig(
          { name: 'root-shard', server: rootBaseURL(m), caFile: crt(P.caBundle) },
          { name: 'shard', certFile: crt(P.client), keyFile: key(P.client) },
          'shard-base',
        ),
      }),
    );
  }
  return out;
}
