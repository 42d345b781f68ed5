// Each function's IAM statements: exactly the calls its handler's ports make (style.md §4),
// statement for statement and Sid for Sid as in ../template.yaml, whose comments say which
// port method needs which action. No L2 `grant*` helper is used for data access: they grant
// more than a handler calls (grantReadData is five actions, grantSendMessages three).

import { Aws, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Binary } from './functions';
import { TableName } from './tables';

export interface PolicyResources {
  readonly tables: Record<TableName, dynamodb.Table>;
  /** The media bucket's name; ARNs are built from it, not from a reference (see MEDIA_BUCKET). */
  readonly mediaBucketName: string;
  /** arn:…:execute-api:…:{api}/{stage}/POST/@connections/*: posting, and nothing else. */
  readonly postToConnectionsArn: string;
  /** The SNS platform applications configured ('' = that platform is off). */
  readonly fcmPlatformApplicationArn: string;
  readonly apnsPlatformApplicationArn: string;
}

function allow(sid: string, actions: string[], resources: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid, effect: iam.Effect.ALLOW, actions, resources });
}

/** The endpoints of a platform application: arn:…:app/GCM/NAME → arn:…:endpoint/GCM/NAME/*. */
export function endpointsOf(applicationArn: string): string {
  return `${applicationArn.replace(':app/', ':endpoint/')}/*`;
}

/** What each function may do. The stream's DLQ and stream reads are granted by stream.ts. */
export function statementsByFunction(r: PolicyResources): Record<Binary, iam.PolicyStatement[]> {
  const t = (name: TableName): string => r.tables[name].tableArn;
  const index = (name: TableName, idx: string): string => `${t(name)}/index/${idx}`;
  const media = (key: string): string => `arn:${Aws.PARTITION}:s3:::${r.mediaBucketName}${key}`;
  const post = allow('PostToConnections', ['execute-api:ManageConnections'], [r.postToConnectionsArn]);
  const fcm = r.fcmPlatformApplicationArn;
  const apns = r.apnsPlatformApplicationArn;
  const ddb = (...actions: string[]): string[] => actions.map((a) => `dynamodb:${a}`);

  return {
    authorizer: [],
    connect: [
      allow('ConnectionAndLastSeen', ddb('UpdateItem', 'GetItem'), [t('users')]),
      allow('Watchers', ddb('Query', 'BatchWriteItem'), [t('watches'), index('watches', 'by-watched')]),
      post,
    ],
    disconnect: [
      allow('ConnectionAndLastSeen', ddb('UpdateItem', 'GetItem'), [t('users')]),
      allow('Watches', ddb('Query', 'BatchWriteItem'), [t('watches'), index('watches', 'by-watched')]),
      post,
    ],
    default: [allow('TouchLastSeen', ddb('UpdateItem'), [t('users')])],
    recall: [
      allow('Membership', ddb('GetItem'), [t('memberships')]),
      allow('Message', ddb('Query', 'UpdateItem', 'GetItem'), [t('messages')]),
      allow('Head', ddb('UpdateItem'), [t('conversations')]),
      allow('Connections', ddb('BatchGetItem', 'UpdateItem'), [t('users')]),
      allow('Media', ddb('GetItem', 'UpdateItem'), [t('media')]),
      allow('EraseMedia', ['s3:DeleteObject'], [media('/uploads/*'), media('/thumbnails/*')]),
      post,
    ],
    typing: [
      allow('Memberships', ddb('GetItem', 'Query'), [t('memberships')]),
      allow('Group', ddb('GetItem'), [t('conversations')]),
      allow('Connections', ddb('BatchGetItem', 'UpdateItem'), [t('users')]),
      post,
    ],
    presence: [
      allow('Users', ddb('BatchGetItem'), [t('users')]),
      allow('Contacts', ddb('Query'), [index('memberships', 'by-user')]),
      allow('Watches', ddb('Query', 'BatchWriteItem'), [t('watches')]),
      post,
    ],
    send: [
      allow('AppendHead', ddb('GetItem', 'UpdateItem'), [t('conversations')]),
      allow('AppendMessage', ddb('PutItem', 'GetItem', 'Query'), [t('messages')]),
      allow('IdempotencyKey', ddb('PutItem', 'GetItem', 'UpdateItem'), [t('idempotency')]),
      allow('Memberships', ddb('GetItem', 'PutItem', 'UpdateItem'), [t('memberships')]),
      allow('Connections', ddb('BatchGetItem', 'UpdateItem'), [t('users')]),
      allow('Media', ddb('GetItem', 'UpdateItem'), [t('media')]),
      post,
    ],
    receipt: [
      allow('Memberships', ddb('GetItem', 'UpdateItem'), [t('memberships')]),
      allow('TickIndexes', ddb('Query'), [index('memberships', 'by-delivered'), index('memberships', 'by-read')]),
      allow('Heads', ddb('BatchGetItem', 'GetItem', 'UpdateItem'), [t('conversations')]),
      allow('Senders', ddb('Query'), [t('messages')]),
      allow('Connections', ddb('BatchGetItem', 'UpdateItem'), [t('users')]),
      post,
    ],
    sync: [
      allow('Membership', ddb('GetItem'), [t('memberships')]),
      allow('MembershipsOfUser', ddb('Query'), [index('memberships', 'by-user')]),
      allow('Heads', ddb('BatchGetItem'), [t('conversations')]),
      allow('History', ddb('Query'), [t('messages')]),
      allow('Hidden', ddb('Query'), [t('hidden')]),
    ],
    'http-api': [
      allow('Memberships', ddb('GetItem', 'Query', 'BatchWriteItem', 'PutItem', 'UpdateItem'), [t('memberships')]),
      // All three indexes (by-user, by-delivered, by-read) are queried: index/* is the table's
      // own indexes, not a wildcard over other tables.
      allow('MembershipIndexes', ddb('Query'), [index('memberships', '*')]),
      allow('Heads', ddb('BatchGetItem', 'GetItem', 'PutItem', 'UpdateItem'), [t('conversations')]),
      allow('Messages', ddb('Query', 'PutItem'), [t('messages')]),
      allow('SystemMessageKeys', ddb('PutItem'), [t('idempotency')]),
      allow('Users', ddb('GetItem', 'BatchGetItem', 'UpdateItem'), [t('users')]),
      allow('Hidden', ddb('PutItem', 'Query'), [t('hidden')]),
      allow('Media', ddb('GetItem', 'PutItem', 'UpdateItem'), [t('media')]),
      // Presigned URLs carry the signer's permissions: upload PUT/GET, thumbnail GET only.
      allow('PresignMedia', ['s3:PutObject', 's3:GetObject'], [media('/uploads/*')]),
      allow('PresignThumbnails', ['s3:GetObject'], [media('/thumbnails/*')]),
      post,
      // Device registration, only for the platforms configured.
      ...(fcm
        ? [
            allow('FcmRegisterDevice', ['sns:CreatePlatformEndpoint'], [fcm]),
            allow(
              'FcmEndpoints',
              ['sns:GetEndpointAttributes', 'sns:SetEndpointAttributes', 'sns:DeleteEndpoint'],
              [endpointsOf(fcm)],
            ),
          ]
        : []),
      ...(apns
        ? [
            allow('ApnsRegisterDevice', ['sns:CreatePlatformEndpoint'], [apns]),
            allow(
              'ApnsEndpoints',
              ['sns:GetEndpointAttributes', 'sns:SetEndpointAttributes', 'sns:DeleteEndpoint'],
              [endpointsOf(apns)],
            ),
          ]
        : []),
    ],
    stream: [
      allow('Members', ddb('Query'), [t('memberships')]),
      allow('Connections', ddb('BatchGetItem', 'UpdateItem', 'GetItem'), [t('users')]),
      allow('PushMembership', ddb('GetItem'), [t('memberships')]),
      allow('PushBadge', ddb('Query'), [index('memberships', 'by-user')]),
      allow('PushHeads', ddb('BatchGetItem'), [t('conversations')]),
      allow('PushLedger', ddb('PutItem'), [t('pushes')]),
      post,
      // Push notifications: Publish to the configured applications' endpoints only.
      ...(fcm ? [allow('FcmPublish', ['sns:Publish'], [endpointsOf(fcm)])] : []),
      ...(apns ? [allow('ApnsPublish', ['sns:Publish'], [endpointsOf(apns)])] : []),
    ],
    media: [
      allow('Media', ddb('GetItem', 'UpdateItem'), [t('media')]),
      allow('Uploads', ['s3:GetObject', 's3:DeleteObject'], [media('/uploads/*')]),
      allow('Thumbnails', ['s3:PutObject', 's3:DeleteObject'], [media('/thumbnails/*')]),
      // Without ListBucket S3 answers a missing key with 403, not 404.
      allow('MissingIsNotFound', ['s3:ListBucket'], [media('')]),
    ],
  };
}

/** arn:…:execute-api:{region}:{account}:{api}/{stage}/POST/@connections/* */
export function postToConnectionsArn(stack: Stack, apiId: string, stage: string): string {
  return stack.formatArn({ service: 'execute-api', resource: apiId, resourceName: `${stage}/POST/@connections/*` });
}
