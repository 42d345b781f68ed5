// The whole backend as one stack: the same resources, settings and IAM grants as
// ../template.yaml (test/parity.test.ts holds the two together). Wiring only; each part is
// its own construct.

import { Aws, CfnOutput, CfnParameter, Stack, StackProps, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ChatAlarms } from './alarms';
import { BINARIES, ChatFunctions, DEFAULT_LAMBDA_DIR } from './functions';
import { ChatHttpApi } from './http-api';
import { ChatMedia, MEDIA_BUCKET_NAME } from './media';
import { acknowledgeNagFindings } from './nag';
import { statementsByFunction } from './permissions';
import { ChatSettingsProps, resolveSettings } from './settings';
import { ChatStream } from './stream';
import { ChatTables } from './tables';
import { ChatWebSocket } from './websocket';

const DESCRIPTION =
  'chat: a WhatsApp-style chat backend. API Gateway WebSocket API (chat) and HTTP API (history), ' +
  'one small Rust Lambda per route, nine DynamoDB tables, an S3 bucket for media. See docs/deploy.md.';

export interface ChatStackProps extends StackProps, ChatSettingsProps {
  /** Where the `cargo lambda build --output-format zip` output is; default ../target/lambda. */
  readonly lambdaDir?: string;
}

export class ChatStack extends Stack {
  readonly tables: ChatTables;
  readonly functions: ChatFunctions;

  constructor(scope: Construct, id: string, props: ChatStackProps = {}) {
    super(scope, id, { description: DESCRIPTION, ...props });
    const settings = resolveSettings(props);
    // The stack name is the table prefix and part of the bucket name
    // (<stack>-media-<account 12>-<region ≤ 14>, at most 63 lowercase characters).
    if (!Token.isUnresolved(this.stackName) && !/^[a-z][a-z0-9-]{0,25}$/.test(this.stackName)) {
      throw new Error(
        `ChatStack: stack name '${this.stackName}' must be lowercase letters, digits and -, at most 26 (the media bucket's name)`,
      );
    }

    // Without a jwtSecret prop the secret is a NoEcho parameter, so that it is never written
    // into cdk.out or a CDK context file; `cdk deploy --parameters JwtSecret=...`.
    const jwtSecret =
      settings.jwtSecret ??
      new CfnParameter(this, 'JwtSecret', {
        type: 'String',
        noEcho: true,
        minLength: 32,
        description: 'The HS256 secret (at least 32 bytes) that signs and checks the chat tokens (JWT_SECRET).',
      }).valueAsString;

    this.tables = new ChatTables(this, 'Tables');
    const webSocket = new ChatWebSocket(this, 'WebSocket', { stageName: settings.stage });
    this.functions = new ChatFunctions(this, 'Functions', {
      settings,
      jwtSecret,
      mediaBucketName: MEDIA_BUCKET_NAME,
      managementEndpoint: webSocket.managementEndpoint,
      lambdaDir: props.lambdaDir ?? DEFAULT_LAMBDA_DIR,
    });
    const fns = this.functions.byBinary;

    const statements = statementsByFunction({
      tables: this.tables.byName,
      mediaBucketName: MEDIA_BUCKET_NAME,
      postToConnectionsArn: webSocket.postToConnectionsArn,
      fcmPlatformApplicationArn: settings.fcmPlatformApplicationArn,
      apnsPlatformApplicationArn: settings.apnsPlatformApplicationArn,
    });
    for (const binary of BINARIES) {
      for (const statement of statements[binary]) fns[binary].addToRolePolicy(statement);
    }

    const stream = new ChatStream(this, 'Stream', { messages: this.tables.byName.messages, consumer: fns.stream });
    webSocket.addRoutes(fns);
    const httpApi = new ChatHttpApi(this, 'Http', {
      handler: fns['http-api'],
      authorizer: fns.authorizer,
      jwtIssuer: settings.jwtIssuer,
      jwtAudience: settings.jwtAudience,
      corsOrigins: settings.corsOrigins,
    });
    const media = new ChatMedia(this, 'Media', {
      corsOrigins: settings.corsOrigins,
      messageRetentionDays: settings.messageRetentionDays,
      mediaFunction: fns.media,
    });
    new ChatAlarms(this, 'Alarms', {
      failuresQueue: stream.failures,
      consumer: fns.stream,
      alarmTopicArn: settings.alarmTopicArn,
    });

    new CfnOutput(this, 'WebSocketUrl', {
      description: 'Connect here with ?token=JWT (and optionally &device=ID).',
      value: `${webSocket.api.apiEndpoint}/${settings.stage}`,
    });
    new CfnOutput(this, 'ManagementEndpoint', {
      description: 'The @connections management endpoint (WEBSOCKET_MANAGEMENT_ENDPOINT).',
      value: webSocket.managementEndpoint,
    });
    new CfnOutput(this, 'HttpApiUrl', {
      description: 'The HTTP API base URL; routes are under /v1.',
      value: httpApi.api.apiEndpoint,
    });
    new CfnOutput(this, 'MediaBucket', {
      description: 'The private media bucket (presigned PUT/GET only).',
      value: media.bucket.bucketName,
    });
    new CfnOutput(this, 'TablePrefix', {
      description: 'TABLE_PREFIX of every function (tables are {prefix}-messages, -users, ...).',
      value: Aws.STACK_NAME,
    });
    new CfnOutput(this, 'MessagesStreamArn', {
      description: "The messages table's stream (NEW_IMAGE), read by the stream function (group fan-out).",
      value: this.tables.byName.messages.tableStreamArn ?? '',
    });
    new CfnOutput(this, 'StreamFailuresQueueUrl', {
      description: 'The batches the stream function gave up on (StreamFailuresAlarm); inspect and replay from here.',
      value: stream.failures.queueUrl,
    });

    acknowledgeNagFindings({
      settings,
      functions: this.functions,
      byBinary: fns,
      tables: this.tables.byName,
      webSocket,
      httpApi,
      media,
      stream,
    });
  }
}
