// Authentication, authorization webhook and audit settings of shards and front-proxies.
import { DECIMAL, DNS1123_SUBDOMAIN, DURATION, GROUP_VERSION, HTTPS_URL } from './formats.js';
import type { LocalDataKeyReference } from './common.js';
import { localDataKeyRef } from './common.js';
import { array, boolean, integer, object, rule, string, type JSONSchemaProps } from './schema.js';

export interface AuthSpec {
  oidc?: OIDCConfiguration;
  webhook?: AuthenticationWebhookSpec;
  tokenAuthFile?: TokenAuthFileSpec;
  serviceAccount?: ServiceAccountAuthentication;
  /** Front-proxy only. */
  dropGroups?: string[];
  /** Front-proxy only. */
  passOnGroups?: string[];
}

export interface OIDCConfiguration {
  issuerURL: string;
  clientID: string;
  /** @deprecated Kubernetes OIDC authentication needs no client secret. */
  clientSecret?: string;
  groupsClaim?: string;
  usernameClaim?: string;
  groupsPrefix?: string;
  usernamePrefix?: string;
  caFileRef?: OIDCCAFileRef;
}

export interface OIDCCAFileRef {
  name: string;
  /** Defaults to `ca.crt`. */
  key?: string;
}

export interface AuthenticationWebhookSpec {
  /** A Go duration string. */
  cacheAuthenticationTTL?: string;
  configSecretName: string;
  version?: 'v1' | 'v1beta1';
}

export interface TokenAuthFileSpec {
  secretName: string;
  /** Defaults to `token.csv`. */
  key?: string;
}

export interface ServiceAccountAuthentication {
  enabled: boolean;
}

export type AuditWebhookMode = '' | 'batch' | 'blocking' | 'blocking-strict';

export interface AuditSpec {
  webhook?: AuditWebhookSpec;
  policy?: AuditPolicySpec;
}

export interface AuditPolicySpec {
  configMap?: LocalDataKeyReference;
}

export interface AuditWebhookSpec {
  batchBufferSize?: number;
  batchMaxSize?: number;
  /** A Go duration string. */
  batchMaxWait?: string;
  batchThrottleBurst?: number;
  batchThrottleEnable?: boolean;
  /** A decimal number as a string, e.g. `"3.1"`. */
  batchThrottleQPS?: string;
  configSecretName?: string;
  /** A Go duration string. */
  initialBackoff?: string;
  mode?: AuditWebhookMode;
  truncateEnabled?: boolean;
  truncateMaxBatchSize?: number;
  truncateMaxEventSize?: number;
  version?: string;
}

export interface AuthorizationSpec {
  webhook?: AuthorizationWebhookSpec;
}

export interface AuthorizationWebhookSpec {
  allowPaths?: string[];
  /** A Go duration string. */
  cacheAuthorizedTTL?: string;
  /** A Go duration string. */
  cacheUnauthorizedTTL?: string;
  configSecretName?: string;
  version?: 'v1' | 'v1beta1';
}

export const DEFAULT_TOKEN_AUTH_FILE_KEY = 'token.csv';
export const DEFAULT_OIDC_CA_KEY = 'ca.crt';

const duration = (description: string): JSONSchemaProps => string(description, { pattern: DURATION, maxLength: 32 });

const secretName = (description: string): JSONSchemaProps =>
  string(description, { pattern: DNS1123_SUBDOMAIN, minLength: 1, maxLength: 253 });

const groupList = (description: string): JSONSchemaProps =>
  array(description, string('A group name.', { minLength: 1, maxLength: 256 }));

export interface AuthSchemaOptions {
  /** Adds kcp-operator's front-proxy rule: OIDC needs ServiceAccount authentication. */
  frontProxy?: boolean;
}

export function authSpec(description: string, opts: AuthSchemaOptions = {}): JSONSchemaProps {
  const frontProxyOnly = opts.frontProxy ? '' : ' Only the front-proxy uses this; it has no effect on shards.';
  return object(
    description,
    {
      oidc: object(
        'OpenID Connect authentication: bearer tokens issued by this provider are accepted.',
        {
          issuerURL: string('URL of the OIDC issuer; must be https and match the `iss` claim of the tokens.', {
            pattern: HTTPS_URL,
            maxLength: 2048,
          }),
          clientID: string('Client ID the tokens must be issued for (the `aud` claim).', { minLength: 1 }),
          clientSecret: string(
            'Deprecated: kcp does not use it (Kubernetes OIDC authentication needs no client secret). Accepted and ignored.',
          ),
          groupsClaim: string('Token claim holding the user\'s groups (a string or a list of strings).'),
          usernameClaim: string('Token claim used as the user name. Defaults to `sub`.'),
          groupsPrefix: string('Prefix added to every group from the token, for example `oidc:`. Defaults to `oidc:`.'),
          usernamePrefix: string('Prefix added to the user name from the token. Defaults to `oidc:`.'),
          caFileRef: object(
            'A Secret with the CA bundle that signed the issuer\'s serving certificate, when it is not publicly trusted.',
            {
              name: secretName('Name of the Secret, in the same namespace.'),
              key: string(`Key in the Secret that holds the PEM CA bundle. Defaults to \`${DEFAULT_OIDC_CA_KEY}\`.`, {
                default: DEFAULT_OIDC_CA_KEY,
                minLength: 1,
                maxLength: 253,
              }),
            },
            { required: ['name'] },
          ),
        },
        { required: ['issuerURL', 'clientID'] },
      ),
      webhook: object(
        'Token authentication through a webhook (TokenReview).',
        {
          cacheAuthenticationTTL: duration('How long webhook answers are cached, as a Go duration, for example `2m`.'),
          configSecretName: secretName(
            'Name of a Secret in the same namespace with a kubeconfig file (key `kubeconfig`) that points at the webhook.',
          ),
          version: string('TokenReview API version sent to the webhook.', { enum: ['v1', 'v1beta1'] }),
        },
        { required: ['configSecretName'] },
      ),
      tokenAuthFile: object(
        'Static bearer tokens from a CSV file (`--token-auth-file`), one line per token: `token,user,uid,"group1,group2"`.',
        {
          secretName: secretName('Name of the Secret, in the same namespace, that holds the CSV file.'),
          key: string(`Key in the Secret that holds the CSV file. Defaults to \`${DEFAULT_TOKEN_AUTH_FILE_KEY}\`.`, {
            default: DEFAULT_TOKEN_AUTH_FILE_KEY,
            minLength: 1,
            maxLength: 253,
          }),
        },
        { required: ['secretName'] },
      ),
      serviceAccount: object(
        'Authentication with Kubernetes-style ServiceAccount tokens issued inside kcp workspaces.',
        {
          enabled: boolean(
            'Accept ServiceAccount tokens. Enable it on every shard and the front-proxy; the front-proxy then trusts ' +
              'every shard\'s service-account signing key.',
          ),
        },
        { required: ['enabled'] },
      ),
      dropGroups: groupList(`Groups removed from a user before the request is forwarded to a shard.${frontProxyOnly}`),
      passOnGroups: groupList(
        `Groups passed on to the shard; without it the front-proxy forwards only the system groups it knows.${frontProxyOnly}`,
      ),
    },
    opts.frontProxy
      ? {
          rules: [
            rule(
              '!has(self.oidc) || (has(self.serviceAccount) && self.serviceAccount.enabled)',
              'oidc requires serviceAccount.enabled: true, because the front-proxy then validates every JWT, ' +
                'ServiceAccount tokens included',
              { fieldPath: '.oidc' },
            ),
          ],
        }
      : {},
  );
}

export function auditSpec(description: string): JSONSchemaProps {
  const count = (d: string): JSONSchemaProps => integer(d, { minimum: 0 });
  return object(description, {
    webhook: object('Send audit events to a webhook.', {
      batchBufferSize: count('Events buffered before batching (batch mode only).'),
      batchMaxSize: count('Largest number of events in one batch (batch mode only).'),
      batchMaxWait: duration('Longest wait before a batch that is not full is sent, as a Go duration (batch mode only).'),
      batchThrottleBurst: count('Batches that may be sent at once when the QPS budget was not used (batch mode only).'),
      batchThrottleEnable: boolean('Throttle batch sending (batch mode only).'),
      batchThrottleQPS: string('Largest average number of batches per second, as a decimal string such as `"3.1"` (batch mode only).', {
        pattern: DECIMAL,
        maxLength: 32,
      }),
      configSecretName: secretName(
        'Name of a Secret in the same namespace with a kubeconfig file (key `kubeconfig`) that points at the audit webhook.',
      ),
      initialBackoff: duration('Wait before retrying the first failed request, as a Go duration.'),
      mode: string(
        '`batch` buffers events and sends them asynchronously; `blocking` sends each event before the response; ' +
          '`blocking-strict` also fails the request when sending fails.',
        { enum: ['', 'batch', 'blocking', 'blocking-strict'] },
      ),
      truncateEnabled: boolean('Truncate events and batches that exceed the size limits.'),
      truncateMaxBatchSize: count('Largest batch sent, in bytes, when truncation is enabled.'),
      truncateMaxEventSize: count('Largest event sent, in bytes, when truncation is enabled; larger events lose their request and response bodies or are dropped.'),
      version: string('API group/version the audit events are serialised as, for example `audit.k8s.io/v1`.', {
        pattern: GROUP_VERSION,
        maxLength: 128,
      }),
    }),
    policy: object('The audit policy.', {
      configMap: localDataKeyRef('A ConfigMap key that holds the audit policy file.', 'ConfigMap'),
    }),
  });
}

export function authorizationSpec(description: string): JSONSchemaProps {
  return object(description, {
    webhook: object('Authorize requests through a webhook (SubjectAccessReview) in addition to kcp\'s own authorizers.', {
      allowPaths: array(
        'HTTP paths authorized without asking the webhook. Replaces the default `/healthz`, `/readyz`, `/livez`.',
        string('One path, for example `/healthz`.', { pattern: '^/\\S*$', maxLength: 1024 }),
      ),
      cacheAuthorizedTTL: duration('How long "allowed" answers are cached, as a Go duration, for example `5m`.'),
      cacheUnauthorizedTTL: duration('How long "denied" answers are cached, as a Go duration, for example `30s`.'),
      configSecretName: secretName(
        'Name of a Secret in the same namespace with a kubeconfig file (key `kubeconfig`) that points at the webhook.',
      ),
      version: string('SubjectAccessReview API version sent to the webhook.', { enum: ['v1', 'v1beta1'] }),
    }),
  });
}
