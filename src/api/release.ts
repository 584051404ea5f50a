// Ours: RootShard.spec.release, the kcp release an installation's components follow unless they
// pin their own image, and how a change of it is rolled out (root shard, then Shards N at a time,
// then front-proxies, each behind a health gate). docs/rollouts.md explains it for people.
import type { ImageSpec } from './common.js';
import { extraArgs, imageSpec } from './common.js';
import { array, boolean, extension, integer, object, string, type JSONSchemaProps } from './schema.js';

export const DEFAULT_ROLLOUT_MAX_PARALLEL = 1;
export const DEFAULT_ROLLOUT_SOAK_SECONDS = 60;
export const DEFAULT_ROLLOUT_PROGRESS_DEADLINE_SECONDS = 600;

export interface ReleaseSpec {
  /** The kcp image (and with its tag, the version) of every following component. */
  image?: ImageSpec;
  /** kcp flags for the root shard and every following Shard, before their own extraArgs. */
  extraArgs?: string[];
  /** kcp-front-proxy flags for every following FrontProxy and the internal proxy, before their own. */
  frontProxyExtraArgs?: string[];
  rollout?: RolloutSpec;
}

export interface RolloutSpec {
  paused?: boolean;
  maxParallel?: number;
  soakSeconds?: number;
  progressDeadlineSeconds?: number;
}

export type RolloutState = 'Complete' | 'Progressing' | 'Paused' | 'Stalled';
export type ComponentRolloutState = 'Updated' | 'Soaking' | 'Updating' | 'Pending' | 'Failed' | 'Pinned';
export type RolloutComponentKind = 'RootShard' | 'Shard' | 'FrontProxy' | 'RootShardProxy';

export interface RolloutComponentStatus {
  kind: RolloutComponentKind;
  name: string;
  /** The image tag it runs (or, while Updating, is being moved to). */
  version?: string;
  /** The release revision it has been told to run. */
  revision?: string;
  state: ComponentRolloutState;
  /** When the current state began (Updating: the grant; Soaking: healthy since). */
  since?: string;
  /** Container restarts of its Pods when the soak began. */
  restarts?: number;
  reason?: string;
  message?: string;
}

export interface RolloutStatus {
  state: RolloutState;
  version: string;
  /** The target revision of the kcp shards (root and Shards). */
  revision: string;
  updated: number;
  total: number;
  /** `Kind/name` of the components the rollout moves next. */
  next?: string[];
  /** One line for `kubectl get rootshard`. */
  summary: string;
  components: RolloutComponentStatus[];
}

export function releaseSchema(): JSONSchemaProps {
  return object(
    extension(
      'The kcp release every component of this installation follows unless it sets its own `spec.image` (it is then ' +
        'pinned and left alone): the root shard, every Shard and FrontProxy referring to this RootShard, and the internal ' +
        'proxy. A change is rolled out gradually: the root shard first, then the Shards `rollout.maxParallel` at a time, ' +
        'then the front-proxies; each must be Available (kcp\'s /readyz) and then run `rollout.soakSeconds` without a ' +
        'container restart before the next step. A component that fails its gate stops the rollout (status.rollout, ' +
        'Events). Setting the previous values back rolls back in the same order. Unset: every component renders from ' +
        'its own spec at once, as in kcp-operator.',
    ),
    {
      image: imageSpec(
        'The kcp image (its tag is the kcp version) of every following component. Unset fields fall back to the ' +
          'defaults, as for `spec.image`.',
      ),
      extraArgs: extraArgs(
        'kcp flags for the root shard and every following Shard, placed before their own `extraArgs` (so a ' +
          'component\'s own flag wins where kcp takes the last one).',
      ),
      frontProxyExtraArgs: extraArgs(
        'kcp-front-proxy flags for every following FrontProxy and the internal proxy, placed before their own `extraArgs`.',
      ),
      rollout: object('How a change of the release is rolled out.', {
        paused: boolean(
          'Stops the rollout after the components already told to update: nothing further is touched until it is set ' +
            'back to false. Pausing and resuming also clears a failed gate, to retry after fixing its cause.',
        ),
        maxParallel: integer(`Shards (and then front-proxies) updated at once. Defaults to ${DEFAULT_ROLLOUT_MAX_PARALLEL}.`, {
          minimum: 1,
          maximum: 1000,
        }),
        soakSeconds: integer(
          `How long an updated component must stay Available without a container restart before the rollout moves on. ` +
            `Defaults to ${DEFAULT_ROLLOUT_SOAK_SECONDS}.`,
          { minimum: 0, maximum: 86400 },
        ),
        progressDeadlineSeconds: integer(
          'How long a component told to update has to become Available before it fails its gate and stops the rollout. ' +
            `Defaults to ${DEFAULT_ROLLOUT_PROGRESS_DEADLINE_SECONDS}.`,
          { minimum: 10, maximum: 86400 },
        ),
      }),
    },
  );
}

export function rolloutStatusSchema(): JSONSchemaProps {
  const text = (d: string, maxLength = 1024) => string(d, { maxLength });
  return object(
    extension('Progress of spec.release: which component runs which version, and what is next.'),
    {
      state: string(
        '`Complete`: every following component runs the release; `Progressing`; `Paused` (spec.release.rollout.paused); ' +
          '`Stalled`: a component failed its gate (see components) and nothing further is touched.',
        { enum: ['Complete', 'Progressing', 'Paused', 'Stalled'] },
      ),
      version: text('The target kcp version (image tag).', 128),
      revision: text('A short hash of the target release of the kcp shards.', 64),
      updated: integer('Components that run the target release and passed their gate (pinned ones included).', { minimum: 0 }),
      total: integer('Components of the installation.', { minimum: 0 }),
      next: array('`Kind/name` of the components the rollout moves next.', text('A component.', 512), { maxItems: 1000 }),
      summary: text('One line for `kubectl get rootshard`.', 512),
      components: array(
        'Every component of the installation, in rollout order.',
        object(
          'A component and where it stands.',
          {
            kind: string('What it is.', { enum: ['RootShard', 'Shard', 'FrontProxy', 'RootShardProxy'] }),
            name: text('The object\'s name (for RootShardProxy: the Deployment\'s).', 253),
            version: text('The image tag it runs, or is being moved to while Updating.', 128),
            revision: text('The release revision it has been told to run.', 64),
            state: string(
              '`Updated`; `Soaking`: Available, waiting out the soak time; `Updating`: told to update, not Available yet; ' +
                '`Pending`: its turn has not come; `Failed`: it failed its gate; `Pinned`: it sets its own image.',
              { enum: ['Updated', 'Soaking', 'Updating', 'Pending', 'Failed', 'Pinned'] },
            ),
            since: string('When the current state began.', { format: 'date-time' }),
            restarts: integer('Container restarts of its Pods when the soak began.', { minimum: 0 }),
            reason: text('Why it failed, in one CamelCase word.', 128),
            message: text('Why, for people.'),
          },
          { required: ['kind', 'name', 'state'] },
        ),
        { maxItems: 1100 },
      ),
    },
    { required: ['state', 'version', 'revision', 'updated', 'total', 'summary', 'components'] },
  );
}
