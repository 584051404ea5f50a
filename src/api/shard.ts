// Shard: an additional kcp shard that joins a RootShard's installation.
import type { V1ObjectMeta } from '@kubernetes/client-node';

import { localRef } from './common.js';
import { joinRefSchema, type JoinReference } from './federation.js';
import type { LocalObjectReference } from './common.js';
import type { API_GROUP_VERSION, SHARD } from './names.js';
import { object, rule, type JSONSchemaProps } from './schema.js';
import { commonShardProperties, logLevelRules, type CommonShardSpec } from './shard-common.js';
import { statusSchema, WORKLOAD_PHASES, type CommonStatus, type WorkloadPhase } from './status.js';

export interface Shard {
  apiVersion: typeof API_GROUP_VERSION;
  kind: typeof SHARD.kind;
  metadata: V1ObjectMeta;
  spec: ShardSpec;
  status?: ShardStatus;
}

export interface ShardSpec extends CommonShardSpec {
  rootShard: ShardRootShardConfig;
  cache?: ShardCacheConfig;
}

/** A Shard's rootShard: a local RootShard, or (ours) a remote one's join ConfigMap. */
export interface ShardRootShardConfig extends RootShardConfig {
  joinRef?: JoinReference;
}

/** Which RootShard a Shard or FrontProxy belongs to. */
export interface RootShardConfig {
  ref?: LocalObjectReference;
}

export interface ShardCacheConfig {
  ref?: LocalObjectReference;
}

export type ShardPhase = WorkloadPhase;

export type ShardStatus = CommonStatus<ShardPhase>;

/** `rootShard` of Shard and FrontProxy. */
export function rootShardConfig(description: string): JSONSchemaProps {
  return object(
    description,
    { ref: localRef('The RootShard, in the same namespace.', 'RootShard') },
    {
      rules: [
        rule('has(self.ref)', 'rootShard.ref is required: name the RootShard (in the same namespace) to join', {
          fieldPath: '.ref',
          reason: 'FieldValueRequired',
        }),
      ],
    },
  );
}

export function shardSpecSchema(): JSONSchemaProps {
  return object(
    'Desired state of an additional shard of a kcp installation.',
    {
      ...commonShardProperties('shard'),
      rootShard: object(
        'The installation this shard joins: a RootShard in this namespace (`ref`), or one elsewhere through its ' +
          'published join ConfigMap (`joinRef`, ours).',
        { ref: localRef('The RootShard, in the same namespace.', 'RootShard'), joinRef: joinRefSchema() },
        {
          rules: [
            rule('has(self.ref) || has(self.joinRef)', 'rootShard.ref is required: name the RootShard (in the same namespace) to join, or set rootShard.joinRef', {
              fieldPath: '.ref',
              reason: 'FieldValueRequired',
            }),
            rule('!(has(self.ref) && has(self.joinRef))', 'rootShard: set either ref (a local RootShard) or joinRef (a remote one), not both', {
              fieldPath: '.joinRef',
            }),
          ],
        },
      ),
      cache: object(
        'The cache server this shard uses. Unset: the same cache as its RootShard.',
        { ref: localRef('A CacheServer in the same namespace.', 'CacheServer') },
      ),
    },
    { required: ['etcd', 'rootShard'], rules: logLevelRules() },
  );
}

export function shardStatusSchema(): JSONSchemaProps {
  return statusSchema(
    'Observed state of the Shard, written by the operator.',
    WORKLOAD_PHASES,
    'Lifecycle phase: `Provisioning` until the shard is available, then `Running`; `Deleting` while it is being ' +
      'deleted (and deregistered from kcp); `Failed` (ours) when it cannot make progress without a change.',
  );
}
