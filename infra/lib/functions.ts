// The thirteen Rust Lambdas, one binary each (functions/*/Cargo.toml [[bin]] names), with the
// template's Globals (arm64, provided.al2023, bootstrap, 256 MB, 10 s, JSON logs, the shared
// environment) and each function's own memory, timeout and variables.
//
// Code: `cargo lambda build --release --arm64 --output-format zip` at the repository root
// writes target/lambda/<binary>/bootstrap.zip, which becomes each function's asset as it is.
// When the stack is not being bundled (the CLI's `aws:cdk:bundling-stacks` context set to [],
// which bin/chat.ts does for CHAT_SKIP_BUNDLING=1 and the tests do in code), every function
// gets the tiny stand-in under infra/stand-in instead, so that synth and tests need no Rust
// build. The stand-in only fails when invoked: never deploy such a synth.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Aws, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ChatSettings } from './settings';

/** The binaries, in the template's order. */
export const BINARIES = [
  'authorizer',
  'connect',
  'disconnect',
  'default',
  'recall',
  'typing',
  'presence',
  'send',
  'receipt',
  'sync',
  'http-api',
  'stream',
  'media',
] as const;
export type Binary = (typeof BINARIES)[number];

interface FunctionSpec {
  readonly description: string;
  readonly memoryMb?: number;
  readonly timeoutSeconds?: number;
  /** Gets WEBSOCKET_MANAGEMENT_ENDPOINT: it posts to connections. */
  readonly posts?: boolean;
  readonly environment?: (s: ChatSettings, jwtSecret: string) => Record<string, string>;
}

const SPECS: Record<Binary, FunctionSpec> = {
  authorizer: {
    description: 'WebSocket $connect REQUEST authorizer (and HTTP API authorizer without an OIDC issuer)',
    timeoutSeconds: 5,
    environment: (s, jwtSecret) => ({ JWT_SECRET: jwtSecret, JWT_ISSUER: s.jwtIssuer }),
  },
  connect: { description: 'WebSocket $connect route (and "came online" to the user\'s watchers)', posts: true },
  // Waits out the presence grace (5 s) when someone watches the user: small, since it mostly sleeps.
  disconnect: {
    description: 'WebSocket $disconnect route (and "went offline" after the presence grace)',
    memoryMb: 128,
    timeoutSeconds: 15,
    posts: true,
  },
  default: { description: 'WebSocket $default and ping routes' },
  recall: { description: 'WebSocket recall route (a message erased to a tombstone)', posts: true },
  typing: { description: 'WebSocket typing route (forwarded to the other members online, never stored)', posts: true },
  presence: { description: 'WebSocket presence route (answers and subscribes)', posts: true },
  // Under API Gateway's 29 s integration timeout; fan-out to a large group takes a while.
  send: {
    description: 'WebSocket send route (append, ack, fan-out to online devices)',
    timeoutSeconds: 28,
    posts: true,
    environment: (s) => ({ MESSAGE_RETENTION_DAYS: String(s.messageRetentionDays) }),
  },
  receipt: { description: 'WebSocket ack and receipt routes (delivered/read marks)', timeoutSeconds: 15, posts: true },
  sync: { description: 'WebSocket sync route (conversation summary, or messages after a seq)', timeoutSeconds: 15 },
  'http-api': {
    description: 'HTTP API /v1 (history, conversations, groups, users, media, devices)',
    timeoutSeconds: 15,
    posts: true,
    environment: (s) => ({
      FCM_PLATFORM_APPLICATION_ARN: s.fcmPlatformApplicationArn,
      APNS_PLATFORM_APPLICATION_ARN: s.apnsPlatformApplicationArn,
    }),
  },
  // A 10,000-member group is ~7 s of posts (docs/performance.md); the rest is throttling backoff.
  stream: {
    description: 'Messages stream consumer (group fan-out to online members)',
    timeoutSeconds: 120,
    posts: true,
  },
  // A 16 MiB photo decodes to up to ~470 MB at the image limits (docs/performance.md).
  media: { description: 'Media bucket uploads (verify, dimensions, thumbnail)', memoryMb: 1024, timeoutSeconds: 60 },
};

/** infra/ (this file is infra/dist/lib/functions.js once compiled). */
const INFRA_DIR = path.resolve(__dirname, '..', '..');
export const STAND_IN_DIR = path.join(INFRA_DIR, 'stand-in');
export const DEFAULT_LAMBDA_DIR = path.join(INFRA_DIR, '..', 'target', 'lambda');

export interface ChatFunctionsProps {
  readonly settings: ChatSettings;
  /** JWT_SECRET's value: the prop, or a NoEcho parameter's reference. */
  readonly jwtSecret: string;
  /** The media bucket by name (not a reference: the bucket's notification refers to `media`). */
  readonly mediaBucketName: string;
  /** https://{api}.execute-api.{region}.{suffix}/{stage}, for the functions that post. */
  readonly managementEndpoint: string;
  /** Where `cargo lambda build --output-format zip` put the zips. */
  readonly lambdaDir: string;
}

/** One `lambda.Function` per binary. */
export class ChatFunctions extends Construct {
  readonly byBinary: Record<Binary, lambda.Function>;

  constructor(scope: Construct, id: string, props: ChatFunctionsProps) {
    super(scope, id);
    const s = props.settings;
    // The template's Globals.Function.Environment: read by chat_lambda_host (ChatSettings).
    const shared: Record<string, string> = {
      TABLE_PREFIX: Aws.STACK_NAME,
      MAX_GROUP_MEMBERS: String(s.maxGroupMembers),
      TYPING_MAX_MEMBERS: String(s.typingMaxMembers),
      RECALL_WINDOW_SECONDS: String(s.recallWindowSeconds),
      MEDIA_MAX_BYTES: String(s.mediaMaxBytes),
      DOCUMENT_MAX_BYTES: String(s.documentMaxBytes),
      PUSH_QUIET_MS: String(s.pushQuietMs),
      PUSH_TTL_SECONDS: String(s.pushTtlSeconds),
      SEND_RATE_PER_SECOND: String(s.sendRatePerSecond),
      SEND_BURST: String(s.sendBurst),
      MEDIA_BUCKET: props.mediaBucketName,
    };
    const bundling = Stack.of(this).bundlingRequired;
    const entries = BINARIES.map((binary): [Binary, lambda.Function] => {
      const spec = SPECS[binary];
      // `<Binary>Function`: a construct id of `Default` would be taken for the default child.
      const fn = new lambda.Function(this, `${pascal(binary)}Function`, {
        description: spec.description,
        code: code(binary, bundling, props.lambdaDir),
        runtime: lambda.Runtime.PROVIDED_AL2023,
        architecture: lambda.Architecture.ARM_64,
        handler: 'bootstrap',
        memorySize: spec.memoryMb ?? 256,
        timeout: Duration.seconds(spec.timeoutSeconds ?? 10),
        loggingFormat: lambda.LoggingFormat.JSON,
        environment: {
          ...shared,
          ...(spec.posts ? { WEBSOCKET_MANAGEMENT_ENDPOINT: props.managementEndpoint } : {}),
          ...spec.environment?.(s, props.jwtSecret),
        },
      });
      return [binary, fn];
    });
    this.byBinary = Object.fromEntries(entries) as Record<Binary, lambda.Function>;
  }
}

function code(binary: Binary, bundling: boolean, lambdaDir: string): lambda.Code {
  if (!bundling) return lambda.Code.fromAsset(STAND_IN_DIR);
  const zip = path.join(lambdaDir, binary, 'bootstrap.zip');
  if (!fs.existsSync(zip)) {
    throw new Error(
      `${zip} is missing: run \`cargo lambda build --release --arm64 --output-format zip\` at the ` +
        'repository root first, or synth with CHAT_SKIP_BUNDLING=1 (stand-in code, not deployable).',
    );
  }
  return lambda.Code.fromAsset(zip);
}

function pascal(binary: string): string {
  return binary.replace(/(^|-)([a-z])/g, (_, _dash: string, c: string) => c.toUpperCase());
}
