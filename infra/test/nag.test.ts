// cdk-nag's AwsSolutions pack over the whole app: no error and no warning may be left that
// lib/nag.ts does not acknowledge with a reason. cdk-nag 3 is a CDK validation plugin: an
// unacknowledged error makes synth itself throw (with the report), a warning is written to
// cdk.out/validation-report.json, which the helper reads.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ALL_ON, newTestApp, readReport, synth, tempDir } from './support/app';

test('AwsSolutions: nothing unacknowledged with the defaults', () => {
  assert.deepEqual(synth().unacknowledged, []);
});

test('AwsSolutions: nothing unacknowledged with every feature on', () => {
  assert.deepEqual(synth(ALL_ON).unacknowledged, []);
});

test('the checks are live: an unacknowledged finding fails synth', () => {
  const outdir = tempDir('chat-nag-');
  const app = newTestApp(outdir);
  new sqs.Queue(new Stack(app, 'probe'), 'Plain');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  assert.throws(() => app.synth(), /AwsSolutions-SQS3|Validation failed/);
  const rules = readReport(outdir).map((v) => v.ruleName);
  assert.ok(rules.includes('AwsSolutions-SQS3'), `report: ${rules.join(', ')}`);
});
