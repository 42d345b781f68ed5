// One synthesized ChatStack per set of props, shared by the tests: an App with bundling
// skipped in code (the stand-in Lambda code, no Rust build) and cdk-nag's AwsSolutions pack,
// synthesized once into a temporary directory.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ChatStack, ChatStackProps } from '../../lib/chat-stack';
import type { JsonObject } from './cfn-yaml';

export const JWT_SECRET = 'test-secret-test-secret-test-secret-0123';

/** Every optional feature on: JWT authorizer, both push platforms, retention, alarm actions. */
export const ALL_ON: ChatStackProps = {
  jwtSecret: JWT_SECRET,
  jwtIssuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example',
  jwtAudience: 'example-client-id',
  messageRetentionDays: 30,
  corsOrigins: ['https://app.example.com', 'https://admin.example.com'],
  fcmPlatformApplicationArn: 'arn:aws:sns:eu-west-1:123456789012:app/GCM/chat-android',
  apnsPlatformApplicationArn: 'arn:aws:sns:eu-west-1:123456789012:app/APNS/chat-ios',
  alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:chat-alarms',
  stage: 'live',
};

export interface Synthesized {
  readonly stack: ChatStack;
  readonly template: Template;
  readonly json: JsonObject;
  /** cdk-nag's findings that no acknowledgement covers (validation-report.json). */
  readonly unacknowledged: { ruleName: string; severity: string; paths: string[] }[];
}

const cache = new Map<string, Synthesized>();

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed when the test process exits. */
export function tempDir(prefix = 'chat-cdk-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function newTestApp(outdir: string, context: Record<string, unknown> = {}): App {
  // An app/test context key set in code wins over anything else here (no CLI is involved).
  return new App({ outdir, context: { 'aws:cdk:bundling-stacks': [], ...context } });
}

export function synth(props: ChatStackProps = { jwtSecret: JWT_SECRET }): Synthesized {
  const key = JSON.stringify(props);
  const hit = cache.get(key);
  if (hit) return hit;
  const outdir = tempDir();
  const app = newTestApp(outdir);
  const stack = new ChatStack(app, 'chat', props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const json = assembly.getStackArtifact(stack.artifactId).template as JsonObject;
  const result: Synthesized = {
    stack,
    template: Template.fromJSON(json),
    json,
    unacknowledged: readReport(outdir),
  };
  cache.set(key, result);
  return result;
}

interface Report {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; severity: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

export function readReport(outdir: string): Synthesized['unacknowledged'] {
  const file = path.join(outdir, 'validation-report.json');
  if (!fs.existsSync(file)) return [];
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
  return report.pluginReports.flatMap((p) =>
    p.violations.map((v) => ({
      ruleName: v.ruleName,
      severity: v.severity,
      paths: v.violatingConstructs.map((c) => c.constructPath),
    })),
  );
}
