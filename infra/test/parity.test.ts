// ../template.yaml (SAM) and the CDK app must describe the same backend. Both are reduced to
// the same model (support/model.ts) and compared section by section, for two settings: the
// defaults (Lambda authorizer on the HTTP API, no push, no retention, no alarm actions) and
// everything on (JWT authorizer, FCM and APNs, retention, an alarm topic, another stage).
// A failure prints the section's diff: `+ actual` is the CDK app, `- expected` template.yaml.

import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { CfnElement } from 'aws-cdk-lib';
import { ChatStackProps } from '../lib/chat-stack';
import { ALL_ON, JWT_SECRET, synth } from './support/app';
import { loadCfnYaml, type Json } from './support/cfn-yaml';
import { buildModel, cdkRoles, type Model } from './support/model';
import { expandSam, type CfnTemplate } from './support/sam';

const TEMPLATE = path.resolve(__dirname, '..', '..', '..', 'template.yaml');

/** The SAM parameters that the CDK props of `props` stand for. */
function parametersFor(props: ChatStackProps): Record<string, Json> {
  const p: Record<string, Json> = { JwtSecret: props.jwtSecret ?? JWT_SECRET };
  const map: [keyof ChatStackProps, string][] = [
    ['stage', 'Stage'],
    ['jwtIssuer', 'JwtIssuer'],
    ['jwtAudience', 'JwtAudience'],
    ['messageRetentionDays', 'MessageRetentionDays'],
    ['fcmPlatformApplicationArn', 'FcmPlatformApplicationArn'],
    ['apnsPlatformApplicationArn', 'ApnsPlatformApplicationArn'],
    ['alarmTopicArn', 'AlarmTopicArn'],
  ];
  for (const [prop, param] of map) {
    const value = props[prop];
    if (value !== undefined) p[param] = String(value);
  }
  if (props.corsOrigins) p.CorsOrigins = props.corsOrigins.join(',');
  return p;
}

function samModel(props: ChatStackProps): Model {
  const sam = expandSam(loadCfnYaml(TEMPLATE), parametersFor(props));
  return buildModel(sam.template, sam.binaries, sam.roles);
}

function cdkModel(props: ChatStackProps): Model {
  const { stack, json } = synth(props);
  const template = json as unknown as CfnTemplate;
  const binaries: Record<string, string> = {};
  for (const [binary, fn] of Object.entries(stack.functions.byBinary)) {
    binaries[String(stack.resolve(stack.getLogicalId(fn.node.defaultChild as CfnElement)))] = binary;
  }
  return buildModel(template, binaries, cdkRoles(template));
}

const SECTIONS: (keyof Model)[] = [
  'tables',
  'functions',
  'iam',
  'eventSourceMappings',
  'lambdaPermissions',
  'bucket',
  'bucketPolicy',
  'webSocket',
  'httpApi',
  'queues',
  'alarms',
  'outputs',
];

const CASES: [string, ChatStackProps][] = [
  ['defaults', { jwtSecret: JWT_SECRET }],
  ['everything on', ALL_ON],
];

for (const [name, props] of CASES) {
  describe(`parity with template.yaml: ${name}`, () => {
    const expected = samModel(props);
    const actual = cdkModel(props);
    for (const section of SECTIONS) {
      test(section, () => {
        assert.deepStrictEqual(
          actual[section],
          expected[section],
          `${section}: the CDK app (+) and template.yaml (-) differ`,
        );
      });
    }
  });
}

test('parity model is not vacuous', () => {
  const m = samModel({ jwtSecret: JWT_SECRET });
  assert.equal(Object.keys(m.tables).length, 9);
  assert.equal(Object.keys(m.functions).length, 13);
  assert.equal(Object.keys(m.alarms).length, 2);
  assert.equal(m.queues.length, 1);
  assert.equal(m.eventSourceMappings.length, 1);
  assert.ok(m.webSocket && typeof m.webSocket === 'object' && 'routes' in m.webSocket);
  const routes = (m.webSocket as { routes: Record<string, unknown> }).routes;
  assert.equal(Object.keys(routes).length, 11);
});
