// The cdk-nag AwsSolutions findings this stack accepts, each with the reason it is right here.
// cdk-nag 3 runs as a CDK validation plugin (bin/chat.ts, test/nag.test.ts) and every finding
// is acknowledged on its own, at the narrowest construct that has it, with
// `Validations.of(scope).acknowledge` (v3's replacement for NagSuppressions). A new finding
// fails synth until it is fixed or acknowledged here with a reason of its own.

import { CfnElement, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct, IConstruct } from 'constructs';
import { Binary } from './functions';
import { ChatHttpApi } from './http-api';
import { ChatMedia } from './media';
import { endpointsOf } from './permissions';
import { ChatSettings } from './settings';
import { ChatStream } from './stream';
import { TableName } from './tables';
import { ChatWebSocket } from './websocket';

export interface NagTargets {
  readonly settings: ChatSettings;
  readonly functions: Construct;
  readonly byBinary: Record<Binary, lambda.Function>;
  readonly tables: Record<TableName, dynamodb.Table>;
  readonly webSocket: ChatWebSocket;
  readonly httpApi: ChatHttpApi;
  readonly media: ChatMedia;
  readonly stream: ChatStream;
}

function ack(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions-${id}`, reason });
}

/** How cdk-nag writes a logical id inside a finding: `<LogicalId>` or `<LogicalId.Attr>`. */
function ref(element: IConstruct, attribute?: string): string {
  const stack = Stack.of(element);
  const cfn = (element.node.defaultChild ?? element) as CfnElement;
  const id = String(stack.resolve(cfn.logicalId));
  return attribute ? `<${id}.${attribute}>` : `<${id}>`;
}

export function acknowledgeNagFindings(t: NagTargets): void {
  const s = t.settings;
  const mediaArn = 'arn:<AWS::Partition>:s3:::<AWS::StackName>-media-<AWS::AccountId>-<AWS::Region>';

  ack(
    t.functions,
    'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'AWSLambdaBasicExecutionRole grants only logs:CreateLogGroup/CreateLogStream/PutLogEvents, what SAM ' +
      'attaches to every function in template.yaml. Scoping it to each /aws/lambda/<fn> group needs log ' +
      'groups the stack owns, a change planned for both templates (docs/deploy.md, Operations notes).',
  );
  ack(
    t.functions,
    `IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:${ref(t.webSocket.api)}/${s.stage}/POST/@connections/*]`,
    'Connection ids exist only at run time; the grant is this API, this stage and POST (a frame to a ' +
      'connection) only: no GET or DELETE of connections.',
  );
  for (const prefix of ['uploads', 'thumbnails']) {
    ack(
      t.functions,
      `IAM5[Resource::${mediaArn}/${prefix}/*]`,
      `Object keys are per upload (${prefix}/<media id>...), made at run time; each grant is one prefix of ` +
        'the one media bucket and only the object actions that function calls.',
    );
  }
  ack(
    t.byBinary['http-api'],
    `IAM5[Resource::${ref(t.tables.memberships, 'Arn')}/index/*]`,
    "http-api queries all three of the memberships table's GSIs (by-user, by-delivered, by-read); " +
      "index/* names only that table's own indexes, for dynamodb:Query only.",
  );
  ack(
    t.byBinary.stream,
    `IAM5[Resource::${ref(t.tables.messages, 'Arn')}/stream/*]`,
    "dynamodb:ListStreams for the event source mapping, on the messages table's streams only (AWS's " +
      'example policy for a Lambda stream consumer); the stream reads themselves are on the stream ARN.',
  );
  for (const application of [s.fcmPlatformApplicationArn, s.apnsPlatformApplicationArn]) {
    if (!application) continue;
    for (const fn of [t.byBinary['http-api'], t.byBinary.stream]) {
      ack(
        fn,
        `IAM5[Resource::${endpointsOf(application)}]`,
        'SNS creates one endpoint per registered device (endpoint/<platform>/<app>/<uuid>); the grant is ' +
          "the configured platform application's endpoints only.",
      );
    }
  }

  ack(
    t.webSocket.api,
    'APIG4',
    'WebSocket APIs authorize once per connection: the Lambda REQUEST authorizer on $connect. API ' +
      "Gateway supports no authorizer on other WebSocket routes; their frames carry the connection's " +
      'authorized identity (requestContext.authorizer), which every handler reads.',
  );
  const noAccessLogs =
    'No access logs, as in template.yaml (docs/deploy.md, Operations notes): a WebSocket stage would need ' +
    'the account-wide API Gateway CloudWatch role, which this stack must not own, and every function logs ' +
    'one JSON line per invocation with the request, connection and user ids.';
  ack(t.webSocket.stage ?? t.webSocket, 'APIG1', noAccessLogs);
  ack(t.httpApi.stage, 'APIG1', noAccessLogs);

  ack(
    t.media.bucket,
    'S1',
    'Server access logs would need a second bucket that template.yaml does not have; every request to this ' +
      'private bucket is a presigned URL signed by a function role or a call of the media function, ' +
      'and CloudTrail data events are the better audit trail where one is needed.',
  );
  ack(
    t.stream.failures,
    'SQS3',
    "This queue is the dead-letter destination itself (the stream event source mapping's OnFailure); a " +
      'DLQ behind it would only move the problem. The StreamFailures alarm watches it.',
  );
  ack(
    t.stream.failures,
    'SQS4',
    "Only the stream function's role sends to it (Lambda's on-failure delivery, SigV4 over HTTPS); a " +
      'TLS-only queue policy is not in template.yaml and belongs in both templates together.',
  );
  ack(
    t.tables.watches,
    'DDB3',
    'Presence subscriptions are ephemeral (they die with their connections, TTL on ttl): nothing worth ' +
      'restoring, so no point-in-time recovery, as in template.yaml.',
  );
}
