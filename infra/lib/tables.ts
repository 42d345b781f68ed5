// The nine DynamoDB tables, one per entity (docs/data-model.md), as a table of specs so that
// the keys read like the template's and like shared/aws/src/dynamo/tables.rs.

import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

const S = dynamodb.AttributeType.STRING;
const N = dynamodb.AttributeType.NUMBER;

type Key = readonly [name: string, type: dynamodb.AttributeType];

interface IndexSpec {
  readonly name: string;
  readonly pk: Key;
  readonly sk: Key;
  /** ALL, KEYS_ONLY, or the non-key attributes of an INCLUDE projection. */
  readonly projection: 'ALL' | 'KEYS_ONLY' | readonly string[];
}

interface TableSpec {
  readonly pk: Key;
  readonly sk?: Key;
  readonly indexes?: readonly IndexSpec[];
  /** TTL on the `ttl` attribute. */
  readonly ttl?: boolean;
  /** A NEW_IMAGE stream (the messages table's, for the stream function). */
  readonly stream?: boolean;
  /**
   * Data tables are kept when the stack is deleted (RetainExceptOnCreate, Retain on replace)
   * and have point-in-time recovery. Ephemeral ones (presence subscriptions) go with the stack.
   */
  readonly kept: boolean;
  readonly pitr: boolean;
}

/** The tables by suffix: `<stack>-<suffix>`, which is what `Tables::from_prefix` names. */
export const TABLE_SPECS = {
  messages: { pk: ['conversation_id', S], sk: ['seq', N], ttl: true, stream: true, kept: true, pitr: true },
  conversations: { pk: ['conversation_id', S], kept: true, pitr: true },
  idempotency: { pk: ['sender_id', S], sk: ['client_msg_id', S], ttl: true, kept: true, pitr: true },
  memberships: {
    pk: ['conversation_id', S],
    sk: ['user_id', S],
    indexes: [
      { name: 'by-user', pk: ['user_id', S], sk: ['conversation_id', S], projection: 'ALL' },
      // The group ticks: sparse (only a current group member carries tick_*), by mark.
      // CloudFormation adds one GSI per stack update (docs/deploy.md).
      {
        name: 'by-delivered',
        pk: ['conversation_id', S],
        sk: ['tick_delivered', N],
        projection: ['tick_read', 'joined_seq'],
      },
      { name: 'by-read', pk: ['conversation_id', S], sk: ['tick_read', N], projection: 'KEYS_ONLY' },
    ],
    kept: true,
    pitr: true,
  },
  users: { pk: ['user_id', S], kept: true, pitr: true },
  // Presence subscriptions die with their connections: no backups, deleted with the stack.
  watches: {
    pk: ['connection_id', S],
    sk: ['user_id', S],
    indexes: [
      {
        name: 'by-watched',
        pk: ['user_id', S],
        sk: ['connection_id', S],
        projection: ['subscriber_id', 'expires_at', 'since'],
      },
    ],
    ttl: true,
    kept: false,
    pitr: false,
  },
  hidden: { pk: ['owner', S], sk: ['seq', N], kept: true, pitr: true },
  media: { pk: ['media_id', S], kept: true, pitr: true },
  // The push ledger holds only the last day (ttl) and losing it costs at most a repeated
  // notification: it goes with the stack, but keeps PITR like the template.
  pushes: { pk: ['user_id', S], sk: ['conversation_id', S], ttl: true, kept: false, pitr: true },
} as const satisfies Record<string, TableSpec>;

export type TableName = keyof typeof TABLE_SPECS;

function attribute([name, type]: Key): dynamodb.Attribute {
  return { name, type };
}

function projection(spec: IndexSpec): Pick<dynamodb.GlobalSecondaryIndexProps, 'projectionType' | 'nonKeyAttributes'> {
  if (spec.projection === 'ALL') return { projectionType: dynamodb.ProjectionType.ALL };
  if (spec.projection === 'KEYS_ONLY') return { projectionType: dynamodb.ProjectionType.KEYS_ONLY };
  return { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...spec.projection] };
}

/** The tables, named `<stack name>-<suffix>` (TABLE_PREFIX is the stack name). */
export class ChatTables extends Construct {
  readonly byName: Record<TableName, dynamodb.Table>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const entries = Object.entries(TABLE_SPECS) as [TableName, TableSpec][];
    this.byName = Object.fromEntries(entries.map(([name, spec]) => [name, this.table(name, spec)])) as Record<
      TableName,
      dynamodb.Table
    >;
  }

  private table(name: TableName, spec: TableSpec): dynamodb.Table {
    // dynamodb.Table, not TableV2: TableV2 synthesizes AWS::DynamoDB::GlobalTable, a different
    // resource from the template's AWS::DynamoDB::Table.
    const table = new dynamodb.Table(this, name, {
      tableName: `${Aws.STACK_NAME}-${name}`,
      partitionKey: attribute(spec.pk),
      sortKey: spec.sk && attribute(spec.sk),
      // On demand: chat traffic is bursty and unpredictable, and nothing here needs reserved
      // throughput; no capacity to plan or autoscale.
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      // SSEEnabled: true, the AWS-managed KMS key (as the template), not the owned default.
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: spec.ttl ? 'ttl' : undefined,
      stream: spec.stream ? dynamodb.StreamViewType.NEW_IMAGE : undefined,
      pointInTimeRecoverySpecification: spec.pitr ? { pointInTimeRecoveryEnabled: true } : undefined,
      removalPolicy: spec.kept ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });
    for (const index of spec.indexes ?? []) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: attribute(index.pk),
        sortKey: attribute(index.sk),
        ...projection(index),
      });
    }
    return table;
  }
}
