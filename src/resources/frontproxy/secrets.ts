// The front-proxy's non-certificate Secrets: the client CA it trusts (the installation's client CA
// plus clientCABundleRefs), the bundle that verifies its backends, and the kubeconfig it watches
// the root shard with and, with the server replaced, reaches every shard with.
import type { KubeObject } from '../../kube/object.js';
import { mergeCABundles } from '../../pki/bundle.js';
import { singleKubeconfig } from '../common/kubeconfig.js';
import { ownedSecret } from '../common/secret.js';
import { crt, key } from '../shard/paths.js';
import { backendCAFile, rootShardURL } from './config.js';
import { frontProxyIdentity, frontProxyNames, type FrontProxyModel } from './model.js';
import { FP } from './paths.js';

export interface FrontProxyBundles {
  rootCA: string;
  serverCA: string;
  clientCA: string;
  /** tls.crt of the RootShard's and the FrontProxy's caBundleSecretRef, where set. */
  extraCABundles: string[];
  /** tls.crt of the RootShard's and the FrontProxy's clientCABundleRef, where set. */
  extraClientCAs: string[];
}

export function frontProxySecrets(m: FrontProxyModel, b: FrontProxyBundles): KubeObject[] {
  const n = frontProxyNames(m);
  const meta = (name: string) => ({
    name,
    namespace: m.namespace,
    labels: frontProxyIdentity(m).labels,
    owner: m.owner,
  });
  return [
    ownedSecret(meta(n.mergedClientCA), { 'tls.crt': mergeCABundles([b.clientCA, ...b.extraClientCAs]) }),
    ownedSecret(meta(n.mergedCABundle), { 'tls.crt': mergeCABundles([b.serverCA, b.rootCA, ...b.extraCABundles]) }),
    ownedSecret(meta(n.dynamicKubeconfig), {
      kubeconfig: singleKubeconfig(
        { name: 'system:admin', server: rootShardURL(m), caFile: backendCAFile(m) },
        { name: 'admin', certFile: crt(FP.kubeconfigClient), keyFile: key(FP.kubeconfigClient) },
        'system:admin',
      ),
    }),
  ];
}
