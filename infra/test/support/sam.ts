// Turns ../template.yaml into plain CloudFormation for one set of parameter values, the way
// CloudFormation and the SAM transform would, as far as the parity test needs:
//  - Parameters → their values (defaults unless given), Conditions evaluated, resources whose
//    Condition is false dropped, Fn::If / AWS::NoValue resolved, Fn::Sub of parameters,
//    Fn::Join / Select / Split over literals folded;
//  - AWS::Serverless::Function → AWS::Lambda::Function (Globals merged) + its role's
//    statements and managed policies + one AWS::Lambda::EventSourceMapping per DynamoDB event
//    + for an S3 event, an AWS::Lambda::Permission and the bucket's NotificationConfiguration.
// Everything else is left as the template wrote it.

import type { Json, JsonObject } from './cfn-yaml';

export const NO_VALUE = Symbol('AWS::NoValue');
type Resolved = Json | typeof NO_VALUE;

export interface CfnTemplate {
  Parameters?: JsonObject;
  Conditions?: JsonObject;
  Resources: { [id: string]: CfnResource };
  Outputs?: { [id: string]: JsonObject };
}
export interface CfnResource {
  Type: string;
  Properties?: JsonObject;
  Metadata?: JsonObject;
  Condition?: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: Json;
}

/** A function's role as the parity test compares it. */
export interface SamRole {
  readonly statements: JsonObject[];
  readonly managedPolicies: string[];
}

export interface ExpandedSam {
  readonly template: CfnTemplate;
  /** Function logical id → binary (Metadata.BuildProperties.Binary). */
  readonly binaries: Record<string, string>;
  /** Function logical id → its role. */
  readonly roles: Record<string, SamRole>;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Resolver {
  private readonly conditions = new Map<string, boolean>();

  constructor(
    private readonly params: Record<string, Json>,
    private readonly conditionDefs: JsonObject,
  ) {}

  condition(name: string): boolean {
    let value = this.conditions.get(name);
    if (value === undefined) {
      const def = this.conditionDefs[name];
      if (def === undefined) throw new Error(`unknown condition ${name}`);
      value = this.truth(def);
      this.conditions.set(name, value);
    }
    return value;
  }

  private truth(expr: Json): boolean {
    if (!isObject(expr)) throw new Error(`not a condition: ${JSON.stringify(expr)}`);
    if ('Fn::Equals' in expr) {
      const [a, b] = expr['Fn::Equals'] as Json[];
      return JSON.stringify(this.scalar(a)) === JSON.stringify(this.scalar(b));
    }
    if ('Fn::Not' in expr) return !this.truth((expr['Fn::Not'] as Json[])[0]);
    if ('Fn::And' in expr) return (expr['Fn::And'] as Json[]).every((e) => this.truth(e));
    if ('Fn::Or' in expr) return (expr['Fn::Or'] as Json[]).some((e) => this.truth(e));
    if ('Condition' in expr) return this.condition(String(expr.Condition));
    throw new Error(`not a condition: ${JSON.stringify(expr)}`);
  }

  /** Parameter values compare as strings, as CloudFormation does (`!Equals [!Ref Days, 0]`). */
  private scalar(v: Json): Json {
    const r = this.value(v);
    return typeof r === 'number' ? String(r) : (r as Json);
  }

  value(v: Json): Resolved {
    if (Array.isArray(v)) {
      return v.map((x) => this.value(x)).filter((x): x is Json => x !== NO_VALUE);
    }
    if (!isObject(v)) return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const [key] = keys;
      const arg = v[key];
      if (key === 'Ref') {
        if (arg === 'AWS::NoValue') return NO_VALUE;
        if (typeof arg === 'string' && arg in this.params) return this.params[arg];
        return v;
      }
      if (key === 'Fn::If') {
        const [cond, yes, no] = arg as Json[];
        return this.value(this.condition(String(cond)) ? yes : no);
      }
      if (key === 'Fn::Sub' && typeof arg === 'string') {
        return {
          'Fn::Sub': arg.replace(/\$\{([A-Za-z0-9]+)\}/g, (whole, name: string) =>
            name in this.params ? String(this.params[name]) : whole,
          ),
        };
      }
      const folded = this.fold(key, this.value(arg));
      if (folded !== undefined) return folded;
    }
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      const r = this.value(x);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  /** Fn::Join / Fn::Select / Fn::Split over values that are literal by now. */
  private fold(key: string, arg: Resolved): Json | undefined {
    if (!Array.isArray(arg)) return undefined;
    if (key === 'Fn::Split' && typeof arg[0] === 'string' && typeof arg[1] === 'string') return arg[1].split(arg[0]);
    if (key === 'Fn::Select' && Array.isArray(arg[1])) return arg[1][Number(arg[0])];
    if (
      key === 'Fn::Join' &&
      typeof arg[0] === 'string' &&
      Array.isArray(arg[1]) &&
      arg[1].every((p) => typeof p === 'string')
    ) {
      return arg[1].join(arg[0]);
    }
    return undefined;
  }
}

const BASIC = 'AWSLambdaBasicExecutionRole';
const DYNAMODB = 'AWSLambdaDynamoDBExecutionRole';

function merge(base: Json | undefined, over: Json | undefined): Json | undefined {
  if (isObject(base) && isObject(over)) {
    const out: JsonObject = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v) as Json;
    return out;
  }
  return over === undefined ? base : over;
}

/** The template for `given` parameter values (the others at their defaults), SAM expanded. */
export function expandSam(raw: JsonObject, given: Record<string, Json>): ExpandedSam {
  const params: Record<string, Json> = {};
  for (const [name, def] of Object.entries((raw.Parameters ?? {}) as JsonObject)) {
    const d = def as JsonObject;
    let value: Json | undefined = name in given ? given[name] : d.Default;
    if (value === undefined) throw new Error(`parameter ${name} has no default: give it a value`);
    if (d.Type === 'CommaDelimitedList' && typeof value === 'string') value = value.split(',');
    if (d.Type === 'Number' && typeof value === 'number') value = String(value);
    params[name] = value;
  }
  const resolver = new Resolver(params, (raw.Conditions ?? {}) as JsonObject);
  const globals = ((raw.Globals as JsonObject | undefined)?.Function ?? {}) as JsonObject;

  const resources: Record<string, CfnResource> = {};
  const binaries: Record<string, string> = {};
  const roles: Record<string, SamRole> = {};
  const notifications: Record<string, JsonObject[]> = {};

  for (const [id, res] of Object.entries(raw.Resources as JsonObject)) {
    const r = res as JsonObject;
    if (typeof r.Condition === 'string' && !resolver.condition(r.Condition)) continue;
    const resolved = resolver.value(r) as JsonObject;
    if (resolved.Type !== 'AWS::Serverless::Function') {
      resources[id] = resolved as unknown as CfnResource;
      continue;
    }
    const props = merge(resolver.value(globals) as Json, resolved.Properties) as JsonObject;
    const metadata = (resolved.Metadata ?? {}) as JsonObject;
    binaries[id] = String((metadata.BuildProperties as JsonObject).Binary);
    const { Policies, Events, CodeUri: _code, ...fnProps } = props;
    resources[id] = { Type: 'AWS::Lambda::Function', Properties: fnProps };

    const statements = ((Policies ?? []) as Json[]).flatMap((p) =>
      isObject(p) && Array.isArray(p.Statement) ? (p.Statement as JsonObject[]) : [],
    );
    const managed = [BASIC];
    for (const [eventId, event] of Object.entries((Events ?? {}) as JsonObject)) {
      const e = event as JsonObject;
      const eventProps = e.Properties as JsonObject;
      if (e.Type === 'DynamoDB') {
        managed.push(DYNAMODB);
        const { Stream, DestinationConfig, ...rest } = eventProps;
        const onFailure = (DestinationConfig as JsonObject | undefined)?.OnFailure as JsonObject | undefined;
        resources[`${id}${eventId}`] = {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: {
            ...rest,
            EventSourceArn: Stream,
            FunctionName: { Ref: id },
            ...(onFailure ? { DestinationConfig: { OnFailure: { Destination: onFailure.Destination } } } : {}),
          },
        };
      } else if (e.Type === 'S3') {
        const bucket = String((eventProps.Bucket as JsonObject).Ref);
        resources[`${id}${eventId}Permission`] = {
          Type: 'AWS::Lambda::Permission',
          Properties: {
            Action: 'lambda:InvokeFunction',
            FunctionName: { Ref: id },
            Principal: 's3.amazonaws.com',
            SourceAccount: { Ref: 'AWS::AccountId' },
          },
        };
        const events = Array.isArray(eventProps.Events) ? eventProps.Events : [eventProps.Events];
        for (const ev of events) {
          (notifications[bucket] ??= []).push({
            Event: ev,
            Filter: eventProps.Filter ?? null,
            Function: { 'Fn::GetAtt': [id, 'Arn'] },
          });
        }
      } else {
        throw new Error(`${id}: event type ${String(e.Type)} is not modelled by the parity test`);
      }
    }
    roles[id] = { statements, managedPolicies: managed };
  }
  for (const [bucket, configs] of Object.entries(notifications)) {
    const props = (resources[bucket].Properties ??= {});
    props.NotificationConfiguration = { LambdaConfigurations: configs };
  }
  return {
    template: { Resources: resources, Outputs: resolver.value(raw.Outputs ?? {}) as CfnTemplate['Outputs'] },
    binaries,
    roles,
  };
}
