// The stack's inputs: one prop per Parameter of ../template.yaml, with the template's defaults
// and its AllowedPattern / MinValue / Rules checked at synth time (a CloudFormation parameter is
// checked at deploy time; a CDK prop is a plain value, so we check it before anything is built).

/** What `ChatStack` takes; every field is optional and defaults like the SAM parameter. */
export interface ChatSettingsProps {
  /** Stage: the WebSocket stage name (the last path segment of the URLs). Default `prod`. */
  readonly stage?: string;
  /**
   * JwtSecret: the HS256 secret (≥ 32 bytes). Leave it unset for a real deployment: the stack
   * then declares a NoEcho CloudFormation parameter `JwtSecret` (pass it with
   * `cdk deploy --parameters JwtSecret=...`), so that the secret never lands in cdk.out.
   */
  readonly jwtSecret?: string;
  /** JwtIssuer: set → the HTTP API uses a JWT authorizer for this issuer; empty → the Lambda authorizer. */
  readonly jwtIssuer?: string;
  /** JwtAudience: the `aud` the JWT authorizer accepts; required with jwtIssuer. */
  readonly jwtAudience?: string;
  /** MessageRetentionDays: 0 keeps messages (and media) forever. */
  readonly messageRetentionDays?: number;
  readonly maxGroupMembers?: number;
  readonly typingMaxMembers?: number;
  readonly recallWindowSeconds?: number;
  readonly mediaMaxBytes?: number;
  readonly documentMaxBytes?: number;
  readonly pushQuietMs?: number;
  readonly pushTtlSeconds?: number;
  /** SendRatePerSecond: messages a second one user may send, sustained; 0 (or sendBurst 0): no limit. */
  readonly sendRatePerSecond?: number;
  /** SendBurst: messages one user may send at once before the rate applies. */
  readonly sendBurst?: number;
  /** CorsOrigins: the browser origins of the HTTP API and of presigned media URLs. */
  readonly corsOrigins?: string[];
  /** FcmPlatformApplicationArn: an existing SNS platform application (app/GCM/...). */
  readonly fcmPlatformApplicationArn?: string;
  /** ApnsPlatformApplicationArn: an existing SNS platform application (app/APNS[_SANDBOX]/...). */
  readonly apnsPlatformApplicationArn?: string;
  /** AlarmTopicArn: an SNS topic for the stream alarms' ALARM and OK notifications. */
  readonly alarmTopicArn?: string;
}

/** The props with every default filled in and every constraint checked. */
export interface ChatSettings {
  readonly stage: string;
  readonly jwtSecret: string | undefined;
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  readonly messageRetentionDays: number;
  readonly maxGroupMembers: number;
  readonly typingMaxMembers: number;
  readonly recallWindowSeconds: number;
  readonly mediaMaxBytes: number;
  readonly documentMaxBytes: number;
  readonly pushQuietMs: number;
  readonly pushTtlSeconds: number;
  readonly sendRatePerSecond: number;
  readonly sendBurst: number;
  readonly corsOrigins: string[];
  readonly fcmPlatformApplicationArn: string;
  readonly apnsPlatformApplicationArn: string;
  readonly alarmTopicArn: string;
}

/** The template's Parameter defaults. */
export const DEFAULTS = {
  stage: 'prod',
  jwtIssuer: '',
  jwtAudience: '',
  messageRetentionDays: 0,
  maxGroupMembers: 10000,
  typingMaxMembers: 256,
  recallWindowSeconds: 3600,
  mediaMaxBytes: 16777216,
  documentMaxBytes: 104857600,
  pushQuietMs: 3000,
  pushTtlSeconds: 86400,
  sendRatePerSecond: 10,
  sendBurst: 100,
  corsOrigins: ['*'],
  fcmPlatformApplicationArn: '',
  apnsPlatformApplicationArn: '',
  alarmTopicArn: '',
} as const;

const STAGE = /^[A-Za-z0-9_-]{1,64}$/;
const FCM_ARN = /^$|^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:app\/GCM\/[A-Za-z0-9_.-]+$/;
const APNS_ARN = /^$|^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:app\/(APNS|APNS_SANDBOX)\/[A-Za-z0-9_.-]+$/;
const TOPIC_ARN = /^$|^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$/;

function fail(message: string): never {
  throw new Error(`ChatStack: ${message}`);
}

function atLeast(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) fail(`${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

function matching(name: string, value: string, pattern: RegExp): string {
  if (!pattern.test(value)) fail(`${name} must match ${pattern}, got '${value}'`);
  return value;
}

/** Fills in the defaults and checks what the template's Parameters and Rules check. */
export function resolveSettings(props: ChatSettingsProps): ChatSettings {
  const s = { ...DEFAULTS, ...stripUndefined(props) };
  if (s.jwtIssuer !== '' && s.jwtAudience === '') {
    fail('jwtAudience is required when jwtIssuer is set (the JWT authorizer checks `aud`)');
  }
  if (props.jwtSecret !== undefined && Buffer.byteLength(props.jwtSecret) < 32) {
    fail('jwtSecret must be at least 32 bytes');
  }
  if (s.corsOrigins.length === 0) fail('corsOrigins must name at least one origin (or *)');
  return {
    stage: matching('stage', s.stage, STAGE),
    jwtSecret: props.jwtSecret,
    jwtIssuer: s.jwtIssuer,
    jwtAudience: s.jwtAudience,
    messageRetentionDays: atLeast('messageRetentionDays', s.messageRetentionDays, 0),
    maxGroupMembers: atLeast('maxGroupMembers', s.maxGroupMembers, 2),
    typingMaxMembers: atLeast('typingMaxMembers', s.typingMaxMembers, 0),
    recallWindowSeconds: atLeast('recallWindowSeconds', s.recallWindowSeconds, 0),
    mediaMaxBytes: atLeast('mediaMaxBytes', s.mediaMaxBytes, 1),
    documentMaxBytes: atLeast('documentMaxBytes', s.documentMaxBytes, 1),
    pushQuietMs: atLeast('pushQuietMs', s.pushQuietMs, 0),
    pushTtlSeconds: atLeast('pushTtlSeconds', s.pushTtlSeconds, 0),
    sendRatePerSecond: atLeast('sendRatePerSecond', s.sendRatePerSecond, 0),
    sendBurst: atLeast('sendBurst', s.sendBurst, 0),
    corsOrigins: [...s.corsOrigins],
    fcmPlatformApplicationArn: matching('fcmPlatformApplicationArn', s.fcmPlatformApplicationArn, FCM_ARN),
    apnsPlatformApplicationArn: matching('apnsPlatformApplicationArn', s.apnsPlatformApplicationArn, APNS_ARN),
    alarmTopicArn: matching('alarmTopicArn', s.alarmTopicArn, TOPIC_ARN),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
