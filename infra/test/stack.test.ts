// The settings that matter most, asserted one by one on the synthesized template (the parity
// test holds the rest to template.yaml).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { ChatStack } from '../lib/chat-stack';
import { BINARIES } from '../lib/functions';
import { ALL_ON, JWT_SECRET, newTestApp, synth, tempDir } from './support/app';
import type { Json, JsonObject } from './support/cfn-yaml';

type Resources = Record<string, { Type: string; Properties: JsonObject }>;
const resourcesOf = (json: JsonObject, type: string): Resources =>
  Object.fromEntries(Object.entries(json.Resources as Resources).filter(([, r]) => r.Type === type));

interface Statement {
  Sid?: string;
  Action: string | string[];
  Resource: Json;
  Effect: string;
}
function statements(json: JsonObject): { policy: string; statement: Statement }[] {
  return Object.entries(resourcesOf(json, 'AWS::IAM::Policy')).flatMap(([policy, r]) =>
    ((r.Properties.PolicyDocument as JsonObject).Statement as unknown as Statement[]).map((statement) => ({
      policy,
      statement,
    })),
  );
}
const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesList = (s: Statement): Json[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

describe('functions', () => {
  const { template, json } = synth();

  test('all thirteen are arm64 provided.al2023 with handler bootstrap and JSON logs', () => {
    const fns = resourcesOf(json, 'AWS::Lambda::Function');
    assert.equal(Object.keys(fns).length, BINARIES.length);
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'provided.al2023',
      Architectures: ['arm64'],
      Handler: 'bootstrap',
      LoggingConfig: { LogFormat: 'JSON' },
    });
  });

  test('memory and timeouts as the template', () => {
    const by = (desc: string): JsonObject =>
      Object.values(resourcesOf(json, 'AWS::Lambda::Function')).find((f) =>
        String(f.Properties.Description).startsWith(desc),
      )!.Properties;
    assert.deepEqual([by('WebSocket send').Timeout, by('WebSocket send').MemorySize], [28, 256]);
    assert.deepEqual([by('Messages stream').Timeout, by('Media bucket').MemorySize], [120, 1024]);
    assert.deepEqual([by('WebSocket $disconnect').MemorySize, by('WebSocket $connect REQUEST').Timeout], [128, 5]);
  });

  test('every function gets TABLE_PREFIX = the stack name and MEDIA_BUCKET by name', () => {
    template.allResourcesProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          TABLE_PREFIX: { Ref: 'AWS::StackName' },
          MEDIA_BUCKET: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
        }),
      },
    });
  });
});

describe('tables', () => {
  const { template, json } = synth();

  test('nine on-demand tables, SSE on; the messages stream is NEW_IMAGE', () => {
    assert.equal(Object.keys(resourcesOf(json, 'AWS::DynamoDB::Table')).length, 9);
    template.allResourcesProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'conversation_id', KeyType: 'HASH' },
        { AttributeName: 'seq', KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    // Only the messages table has a stream.
    const streams = Object.values(resourcesOf(json, 'AWS::DynamoDB::Table')).filter(
      (t) => t.Properties.StreamSpecification,
    );
    assert.equal(streams.length, 1);
  });

  test('data tables are retained, watches and pushes go with the stack', () => {
    const policies = Object.values(
      json.Resources as Record<string, { Type: string; DeletionPolicy?: string; Properties: JsonObject }>,
    )
      .filter((r) => r.Type === 'AWS::DynamoDB::Table')
      .map((r) => `${JSON.stringify(r.Properties.TableName).match(/-([a-z]+)"/)?.[1]}:${r.DeletionPolicy}`)
      .sort();
    assert.deepEqual(policies, [
      'conversations:RetainExceptOnCreate',
      'hidden:RetainExceptOnCreate',
      'idempotency:RetainExceptOnCreate',
      'media:RetainExceptOnCreate',
      'memberships:RetainExceptOnCreate',
      'messages:RetainExceptOnCreate',
      'pushes:Delete',
      'users:RetainExceptOnCreate',
      'watches:Delete',
    ]);
  });

  test('memberships has its three GSIs with their projections', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({ IndexName: 'by-user', Projection: { ProjectionType: 'ALL' } }),
        Match.objectLike({
          IndexName: 'by-delivered',
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['tick_read', 'joined_seq'] },
        }),
        Match.objectLike({ IndexName: 'by-read', Projection: { ProjectionType: 'KEYS_ONLY' } }),
      ]),
    });
  });
});

describe('stream consumer', () => {
  const { template, json } = synth();

  test('event source mapping: partial batch failures, bisect, 5 retries, 1 h, SQS on failure', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    const [queueId] = Object.keys(resourcesOf(json, 'AWS::SQS::Queue'));
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 3600,
      ParallelizationFactor: 10,
      BatchSize: 100,
      StartingPosition: 'LATEST',
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
  });

  test('the DLQ grant is sqs:SendMessage only, and no stream grant is on "*"', () => {
    const sqs = statements(json).filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('sqs:')));
    assert.equal(sqs.length, 1);
    assert.deepEqual(actionsOf(sqs[0].statement), ['sqs:SendMessage']);
  });

  test('the two alarms: failures queue not empty, iterator age over a minute for 5 minutes', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Threshold: 60000,
      EvaluationPeriods: 5,
      TreatMissingData: 'notBreaching',
    });
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: Match.absent(),
      OKActions: Match.absent(),
    });
  });

  test('with alarmTopicArn both alarms notify it on ALARM and OK', () => {
    synth(ALL_ON).template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [ALL_ON.alarmTopicArn],
      OKActions: [ALL_ON.alarmTopicArn],
    });
  });
});

describe('WebSocket API', () => {
  const { template, json } = synth();

  test('$connect has the REQUEST authorizer on ?token=, the other routes none', () => {
    const [authorizerId] = Object.entries(resourcesOf(json, 'AWS::ApiGatewayV2::Authorizer')).find(
      ([, a]) =>
        a.Properties.AuthorizerType === 'REQUEST' &&
        JSON.stringify(a.Properties.IdentitySource).includes('querystring.token'),
    )!;
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$connect',
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: authorizerId },
    });
    const others = Object.values(resourcesOf(json, 'AWS::ApiGatewayV2::Route')).filter(
      (r) => r.Properties.RouteKey !== '$connect' && !String(r.Properties.RouteKey).startsWith('ANY '),
    );
    assert.equal(others.length, 10);
    for (const r of others) assert.ok(!r.Properties.AuthorizerId, `${String(r.Properties.RouteKey)} has an authorizer`);
  });

  test('every route but $connect/$disconnect is two-way', () => {
    const routes = resourcesOf(json, 'AWS::ApiGatewayV2::Route');
    const twoWay = Object.values(resourcesOf(json, 'AWS::ApiGatewayV2::RouteResponse'))
      .map((rr) => String(routes[String((rr.Properties.RouteId as JsonObject).Ref)].Properties.RouteKey))
      .sort();
    assert.deepEqual(twoWay, ['$default', 'ack', 'ping', 'presence', 'recall', 'receipt', 'send', 'sync', 'typing']);
  });

  test('the stage throttles at 1000/s, bursts of 500, and deploys itself', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'prod',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 500, ThrottlingRateLimit: 1000 },
    });
  });
});

describe('HTTP API', () => {
  test('without jwtIssuer: the Lambda authorizer, payload 1.0, no caching', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      Name: 'token',
      AuthorizerPayloadFormatVersion: '1.0',
      AuthorizerResultTtlInSeconds: 0,
      // No identity source: the authorizer sees every request, with or without a token.
      IdentitySource: Match.absent(),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'ANY /v1/{proxy+}',
      AuthorizationType: 'CUSTOM',
    });
  });

  test('with jwtIssuer: a JWT authorizer for that issuer and audience, and no Lambda one', () => {
    const { template, json } = synth(ALL_ON);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      Name: 'jwt',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: ALL_ON.jwtIssuer, Audience: [ALL_ON.jwtAudience] },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'ANY /v1/{proxy+}',
      AuthorizationType: 'JWT',
    });
    // Only the WebSocket authorizer is a REQUEST one now.
    const requestAuthorizers = Object.values(resourcesOf(json, 'AWS::ApiGatewayV2::Authorizer')).filter(
      (a) => a.Properties.AuthorizerType === 'REQUEST',
    );
    assert.equal(requestAuthorizers.length, 1);
  });

  test('CORS, the $default stage and its throttling', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: ['*'],
        AllowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
        AllowHeaders: ['authorization', 'content-type'],
        MaxAge: 3000,
      },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 200, ThrottlingRateLimit: 500 },
    });
  });
});

describe('media bucket', () => {
  const { template, json } = synth();

  test('uploads/ object-created events go to the media function, natively (no custom resource)', () => {
    const mediaFn = Object.entries(resourcesOf(json, 'AWS::Lambda::Function')).find(([, f]) =>
      String(f.Properties.Description).startsWith('Media bucket'),
    )![0];
    template.hasResourceProperties('AWS::S3::Bucket', {
      NotificationConfiguration: {
        LambdaConfigurations: [
          {
            Event: 's3:ObjectCreated:*',
            Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'uploads/' }] } },
            Function: { 'Fn::GetAtt': [mediaFn, 'Arn'] },
          },
        ],
      },
    });
    assert.equal(Object.keys(resourcesOf(json, 'Custom::S3BucketNotifications')).length, 0);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 's3.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });

  test('lifecycle follows retention', () => {
    synth().template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Id: 'expire-with-messages', Status: 'Disabled' })]),
      },
    });
    synth(ALL_ON).template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Id: 'expire-with-messages', Status: 'Enabled', ExpirationInDays: 30 }),
        ]),
      },
    });
  });
});

describe('least privilege', () => {
  for (const [name, props] of [
    ['defaults', undefined],
    ['everything on', ALL_ON],
  ] as const) {
    test(`${name}: no action or resource wildcard beyond the template's`, () => {
      const { json } = synth(props);
      for (const { policy, statement } of statements(json)) {
        for (const action of actionsOf(statement)) {
          assert.ok(!action.includes('*'), `${policy}: action wildcard ${action}`);
        }
        for (const resource of resourcesList(statement)) {
          assert.notEqual(resource, '*', `${policy} (${statement.Sid ?? 'no Sid'}): Resource "*"`);
        }
        assert.equal(statement.Effect, 'Allow');
      }
    });
  }

  test('sns:Publish only for the stream function, and only with a platform configured', () => {
    assert.equal(
      statements(synth().json).filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('sns:'))).length,
      0,
    );
    const publishers = new Set(
      statements(synth(ALL_ON).json)
        .filter(({ statement }) => actionsOf(statement).includes('sns:Publish'))
        .map(({ policy }) => policy.replace(/ServiceRoleDefaultPolicy.*/, '')),
    );
    assert.deepEqual([...publishers], ['FunctionsStreamFunction']);
  });

  test('execute-api:ManageConnections is POST on this stage only, for the nine functions that post', () => {
    const posting = statements(synth(ALL_ON).json).filter(({ statement }) =>
      actionsOf(statement).includes('execute-api:ManageConnections'),
    );
    assert.equal(posting.length, 9);
    for (const { statement } of posting) {
      assert.match(JSON.stringify(statement.Resource), /"\/live\/POST\/@connections\/\*"/);
    }
  });

  test('the authorizer has no policy of its own', () => {
    const policies = Object.keys(resourcesOf(synth().json, 'AWS::IAM::Policy'));
    assert.ok(!policies.some((p) => p.startsWith('FunctionsAuthorizerFunction')));
  });
});

describe('settings and code', () => {
  test("the template's parameter rules are checked at synth", () => {
    const build = (props: object): ChatStack => new ChatStack(newTestApp(tempDir('chat-cdk-')), 'chat', props);
    assert.throws(
      () => build({ jwtSecret: JWT_SECRET, jwtIssuer: 'https://issuer.example' }),
      /jwtAudience is required/,
    );
    assert.throws(() => build({ jwtSecret: 'short' }), /at least 32 bytes/);
    assert.throws(() => build({ jwtSecret: JWT_SECRET, stage: 'no spaces' }), /stage must match/);
    assert.throws(() => build({ jwtSecret: JWT_SECRET, maxGroupMembers: 1 }), /maxGroupMembers/);
    assert.throws(
      () =>
        build({ jwtSecret: JWT_SECRET, fcmPlatformApplicationArn: 'arn:aws:sns:eu-west-1:123456789012:app/APNS/x' }),
      /fcmPlatformApplicationArn/,
    );
    const named = (stackName: string): ChatStack =>
      new ChatStack(newTestApp(tempDir('chat-cdk-')), 'chat', {
        jwtSecret: JWT_SECRET,
        stackName,
      });
    assert.throws(() => named('Chat-Prod'), /must be lowercase/);
    assert.throws(() => named('a-stack-name-that-is-too-long'), /at most 26/);
    assert.doesNotThrow(() => named('chat-prod'));
  });

  test('without jwtSecret the secret is a NoEcho parameter, never a literal', () => {
    const outdir = tempDir('chat-cdk-');
    const stack = new ChatStack(newTestApp(outdir), 'chat', {});
    const json = newTemplate(stack);
    assert.deepEqual((json.Parameters as JsonObject).JwtSecret, {
      Type: 'String',
      NoEcho: true,
      MinLength: 32,
      Description: 'The HS256 secret (at least 32 bytes) that signs and checks the chat tokens (JWT_SECRET).',
    });
  });

  test('with bundling, each function is its cargo lambda zip; a missing zip is a clear error', () => {
    const lambdaDir = tempDir('chat-lambda-');
    const bundled = (): ChatStack =>
      new ChatStack(new App({ outdir: tempDir('chat-cdk-') }), 'chat', {
        jwtSecret: JWT_SECRET,
        lambdaDir,
      });
    assert.throws(bundled, /bootstrap\.zip is missing: run `cargo lambda build --release --arm64 --output-format zip`/);
    for (const binary of BINARIES) {
      fs.mkdirSync(path.join(lambdaDir, binary));
      fs.writeFileSync(path.join(lambdaDir, binary, 'bootstrap.zip'), `zip of ${binary}`);
    }
    const json = newTemplate(bundled());
    const assets = new Set(
      Object.values(resourcesOf(json, 'AWS::Lambda::Function')).map((f) =>
        JSON.stringify((f.Properties.Code as JsonObject).S3Key),
      ),
    );
    assert.equal(assets.size, BINARIES.length, 'one distinct asset per binary');
  });
});

function newTemplate(stack: ChatStack): JsonObject {
  const assembly = (stack.node.root as App).synth();
  return assembly.getStackArtifact(stack.artifactId).template as JsonObject;
}
