// The stack's props from CDK context, one key per prop under the prop's own name:
// `cdk deploy -c stage=prod -c jwtIssuer=https://... -c corsOrigins=https://a.example,https://b.example`.
// Context values from the command line are strings; numbers and lists are parsed here.
// jwtSecret is deliberately not read from context (context ends up in cdk.context.json and in
// shell history): it is the NoEcho `JwtSecret` parameter, `--parameters JwtSecret=...`.

import { Node } from 'constructs';
import { ChatStackProps } from './chat-stack';

const STRINGS = [
  'stage',
  'jwtIssuer',
  'jwtAudience',
  'fcmPlatformApplicationArn',
  'apnsPlatformApplicationArn',
  'alarmTopicArn',
  'lambdaDir',
] as const;
const NUMBERS = [
  'messageRetentionDays',
  'maxGroupMembers',
  'typingMaxMembers',
  'recallWindowSeconds',
  'mediaMaxBytes',
  'documentMaxBytes',
  'pushQuietMs',
  'pushTtlSeconds',
  'sendRatePerSecond',
  'sendBurst',
] as const;

export function propsFromContext(node: Node): ChatStackProps {
  const props: { -readonly [K in keyof ChatStackProps]?: ChatStackProps[K] } = {};
  for (const key of STRINGS) {
    const value: unknown = node.tryGetContext(key);
    if (value !== undefined) props[key] = String(value);
  }
  for (const key of NUMBERS) {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined) continue;
    const n = Number(value);
    if (!Number.isFinite(n)) throw new Error(`context ${key}: not a number: '${String(value)}'`);
    props[key] = n;
  }
  const origins: unknown = node.tryGetContext('corsOrigins');
  if (origins !== undefined) {
    props.corsOrigins = (Array.isArray(origins) ? origins.map(String) : String(origins).split(','))
      .map((o) => o.trim())
      .filter((o) => o !== '');
  }
  return props;
}
