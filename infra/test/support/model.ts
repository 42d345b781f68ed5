// The parity test's common ground: a template (SAM-expanded or CDK-synthesized) reduced to
// what matters, with logical ids replaced by what the resources are (`table:messages`,
// `fn:send`, `api:websocket`) and every intrinsic rendered as one string
// (`arn:${AWS::Partition}:...:${api:websocket}/prod/POST/@connections/*`), so that
// `!Sub ...${WebSocketApi}...` and CDK's Fn::Join over a hashed id compare equal.

import type { Json, JsonObject } from './cfn-yaml';
import { isObject, type CfnResource, type CfnTemplate, type SamRole } from './sam';

export interface Model {
  tables: Record<string, Json>;
  functions: Record<string, Json>;
  iam: Record<string, Json>;
  eventSourceMappings: Json[];
  lambdaPermissions: Json[];
  bucket: Json;
  bucketPolicy: Json;
  webSocket: Json;
  httpApi: Json;
  queues: Json[];
  alarms: Record<string, Json>;
  outputs: Record<string, Json>;
}

/** Renders intrinsics to text; knows each logical id's label. */
class Renderer {
  private readonly labels = new Map<string, string>();

  constructor(
    private readonly resources: Record<string, CfnResource>,
    private readonly binaries: Record<string, string>,
  ) {}

  label(id: string): string {
    let label = this.labels.get(id);
    if (label === undefined) {
      label = this.computeLabel(id);
      this.labels.set(id, label);
    }
    return label;
  }

  private computeLabel(id: string): string {
    const r = this.resources[id];
    if (!r) return `?${id}`;
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::Lambda::Function':
        return `fn:${this.binaries[id] ?? id}`;
      case 'AWS::DynamoDB::Table':
        return `table:${this.text(p.TableName).replace('${AWS::StackName}-', '')}`;
      case 'AWS::ApiGatewayV2::Api':
        return `api:${String(p.ProtocolType).toLowerCase()}`;
      case 'AWS::ApiGatewayV2::Authorizer':
        return `authorizer:${this.text(p.ApiId)}:${String(p.Name)}`;
      case 'AWS::ApiGatewayV2::Integration':
        return `integration:${this.text(p.IntegrationUri).match(/\$\{(fn:[^.}]+)/)?.[1] ?? '?'}`;
      case 'AWS::ApiGatewayV2::Route':
        return `route:${String(p.RouteKey)}`;
      case 'AWS::SQS::Queue':
        return 'queue';
      case 'AWS::S3::Bucket':
        return 'bucket:media';
      default:
        return r.Type;
    }
  }

  /** Any value as text: intrinsics rendered, lists joined with ", ". */
  text(v: Json | undefined): string {
    if (v === undefined || v === null) return '';
    if (typeof v !== 'object') return String(v);
    if (Array.isArray(v)) return v.map((x) => this.text(x)).join(', ');
    const [key] = Object.keys(v);
    const arg = v[key];
    switch (key) {
      case 'Ref':
        return String(arg).startsWith('AWS::') ? `\${${String(arg)}}` : `\${${this.label(String(arg))}}`;
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
        return `\${${this.label(id)}.${attr}}`;
      }
      case 'Fn::Sub': {
        const template = Array.isArray(arg) ? String(arg[0]) : String(arg);
        return template.replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
          if (name.startsWith('AWS::')) return whole;
          const [id, attr] = name.split('.');
          return attr ? `\${${this.label(id)}.${attr}}` : `\${${this.label(id)}}`;
        });
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, Json[]];
        return parts.map((x) => this.text(x)).join(sep);
      }
      default:
        return JSON.stringify(this.deep(v));
    }
  }

  /** A structure with every intrinsic inside it rendered (for deepEqual). */
  deep(v: Json | undefined): Json {
    if (v === undefined) return null;
    if (Array.isArray(v)) return v.map((x) => this.deep(x));
    // CloudFormation passes parameter values as strings and coerces them: "30" is 30.
    if (typeof v === 'string' && /^-?[0-9]+$/.test(v)) return Number(v);
    if (!isObject(v)) return v;
    const keys = Object.keys(v);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return this.text(v);
    const out: JsonObject = {};
    for (const k of keys.sort()) out[k] = this.deep(v[k]);
    return out;
  }
}

const asList = (v: Json | undefined): Json[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const sorted = (xs: string[]): string[] => [...xs].sort();
const byKey = <T extends JsonObject>(xs: T[], key: string): T[] =>
  [...xs].sort((a, b) => String(a[key]).localeCompare(String(b[key])));

/** The stream reads SAM grants through AWSLambdaDynamoDBExecutionRole (on "*") and the CDK app on the messages stream. */
const STREAM_READS = [
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:ListStreams',
];
const MANAGED_EXPANSIONS: Record<string, string[]> = {
  AWSLambdaDynamoDBExecutionRole: STREAM_READS.map((a) => `${a} on the event source's stream`),
};

export function buildModel(
  template: CfnTemplate,
  binaries: Record<string, string>,
  roles: Record<string, SamRole>,
): Model {
  const res = template.Resources;
  const r = new Renderer(res, binaries);
  const of = (type: string): [string, CfnResource][] => Object.entries(res).filter(([, x]) => x.Type === type);
  const props = (x: CfnResource): JsonObject => x.Properties ?? {};

  const tables: Record<string, Json> = {};
  for (const [id, t] of of('AWS::DynamoDB::Table')) {
    const p = props(t);
    tables[r.label(id)] = r.deep({
      KeySchema: p.KeySchema,
      AttributeDefinitions: byKey(asList(p.AttributeDefinitions) as JsonObject[], 'AttributeName'),
      GlobalSecondaryIndexes: byKey(asList(p.GlobalSecondaryIndexes) as JsonObject[], 'IndexName').map((g) => ({
        ...g,
        Projection: {
          ...(g.Projection as JsonObject),
          ...(isObject(g.Projection) && g.Projection.NonKeyAttributes
            ? { NonKeyAttributes: sorted(g.Projection.NonKeyAttributes as string[]) }
            : {}),
        },
      })),
      BillingMode: p.BillingMode ?? null,
      StreamSpecification: p.StreamSpecification ?? null,
      TimeToLiveSpecification: p.TimeToLiveSpecification ?? null,
      PointInTimeRecoverySpecification: p.PointInTimeRecoverySpecification ?? null,
      SSESpecification: p.SSESpecification ?? null,
      DeletionPolicy: t.DeletionPolicy ?? 'Delete',
      UpdateReplacePolicy: t.UpdateReplacePolicy ?? 'Delete',
    });
  }

  const functions: Record<string, Json> = {};
  const iam: Record<string, Json> = {};
  for (const [id, f] of of('AWS::Lambda::Function')) {
    const p = props(f);
    const env = ((p.Environment as JsonObject | undefined)?.Variables ?? {}) as JsonObject;
    functions[r.label(id)] = {
      Description: r.text(p.Description),
      Runtime: r.text(p.Runtime),
      Architectures: r.deep(p.Architectures ?? ['x86_64']),
      Handler: r.text(p.Handler),
      MemorySize: Number(p.MemorySize ?? 128),
      Timeout: Number(p.Timeout ?? 3),
      LoggingConfig: r.deep(p.LoggingConfig),
      Environment: Object.fromEntries(
        Object.keys(env)
          .sort()
          .map((k) => [k, r.text(env[k])]),
      ),
    };
    const role = roles[id];
    if (!role) throw new Error(`no role found for ${id}`);
    const grants = role.statements.flatMap((s) => {
      const resources = sorted(asList(s.Resource).map((x) => r.text(x)));
      return asList(s.Action)
        .map(String)
        .map((action) => {
          const onStream =
            STREAM_READS.includes(action) && resources.every((x) => x.includes('StreamArn') || x.endsWith('/stream/*'));
          return onStream
            ? `${action} on the event source's stream`
            : `${String(s.Effect)} ${action} on ${resources.join(' | ')} (${String(s.Sid ?? 'no Sid')})`;
        });
    });
    iam[r.label(id)] = {
      managed: sorted(role.managedPolicies.filter((m) => !(m in MANAGED_EXPANSIONS))),
      grants: sorted([...grants, ...role.managedPolicies.flatMap((m) => MANAGED_EXPANSIONS[m] ?? [])]),
    };
  }

  const eventSourceMappings = of('AWS::Lambda::EventSourceMapping').map(([, m]) => r.deep(props(m)));
  const lambdaPermissions = sorted(
    // FunctionName takes a name or an ARN: SAM writes !Ref, the CDK the ARN.
    of('AWS::Lambda::Permission').map(
      ([, x]) => `${r.text(props(x).FunctionName).replace(/\.Arn\}$/, '}')} ← ${r.text(props(x).Principal)}`,
    ),
  );

  const [[, bucket]] = of('AWS::S3::Bucket');
  const bp = props(bucket);
  const bucketModel = r.deep({
    BucketName: bp.BucketName,
    PublicAccessBlockConfiguration: bp.PublicAccessBlockConfiguration,
    OwnershipControls: bp.OwnershipControls,
    BucketEncryption: bp.BucketEncryption,
    CorsConfiguration: bp.CorsConfiguration,
    LifecycleConfiguration: bp.LifecycleConfiguration,
    NotificationConfiguration: bp.NotificationConfiguration ?? null,
    DeletionPolicy: bucket.DeletionPolicy ?? 'Delete',
    UpdateReplacePolicy: bucket.UpdateReplacePolicy ?? 'Delete',
  });
  const bucketPolicy = of('AWS::S3::BucketPolicy').map(([, x]) =>
    asList((props(x).PolicyDocument as JsonObject).Statement).map((s) => {
      const { Sid: _sid, Principal, Resource, ...rest } = s as JsonObject;
      // "*" and {AWS: "*"} are the same principal.
      const principal = isObject(Principal) && Principal.AWS === '*' ? '*' : Principal;
      return r.deep({ ...rest, Principal: principal, Resource: sorted(asList(Resource).map((x) => r.text(x))) });
    }),
  );

  const apiModel = (protocol: string): Json => {
    const api = of('AWS::ApiGatewayV2::Api').find(([, a]) => props(a).ProtocolType === protocol);
    if (!api) return null;
    const [apiId, a] = api;
    const onApi = (type: string): [string, CfnResource][] =>
      of(type).filter(([, x]) => r.text(props(x).ApiId) === `\${${r.label(apiId)}}`);
    const responses = new Set(onApi('AWS::ApiGatewayV2::RouteResponse').map(([, x]) => r.text(props(x).RouteId)));
    const integrations = Object.fromEntries(
      onApi('AWS::ApiGatewayV2::Integration').map(([id, x]) => [
        `\${${r.label(id)}}`,
        r.deep({ ...props(x), ApiId: null }),
      ]),
    );
    const routes = Object.fromEntries(
      onApi('AWS::ApiGatewayV2::Route').map(([id, x]) => {
        const p = props(x);
        const target = r.text(p.Target).replace('integrations/', '');
        return [
          String(p.RouteKey),
          r.deep({
            AuthorizationType: p.AuthorizationType ?? 'NONE',
            AuthorizerId: p.AuthorizerId ?? null,
            OperationName: p.OperationName ?? null,
            RouteResponseSelectionExpression: p.RouteResponseSelectionExpression ?? null,
            twoWay: responses.has(`\${${r.label(id)}}`),
            integration: integrations[target] ?? target,
          }),
        ];
      }),
    );
    const authorizers = Object.fromEntries(
      onApi('AWS::ApiGatewayV2::Authorizer').map(([, x]) => {
        const { ApiId: _a, Name, ...rest } = props(x);
        return [String(Name), r.deep({ ...rest, IdentitySource: rest.IdentitySource ?? [] })];
      }),
    );
    const stages = onApi('AWS::ApiGatewayV2::Stage').map(([, x]) => {
      const p = props(x);
      return r.deep({
        StageName: p.StageName,
        AutoDeploy: p.AutoDeploy ?? false,
        DefaultRouteSettings: p.DefaultRouteSettings ?? null,
      });
    });
    const { Name, ProtocolType, RouteSelectionExpression, CorsConfiguration } = props(a);
    const cors = isObject(CorsConfiguration)
      ? Object.fromEntries(
          Object.entries(CorsConfiguration).map(([k, v]) => [k, Array.isArray(v) ? sorted(v.map(String)) : v]),
        )
      : null;
    return r.deep({
      Name,
      ProtocolType,
      RouteSelectionExpression: RouteSelectionExpression ?? null,
      CorsConfiguration: cors,
      routes,
      authorizers,
      stages,
    });
  };

  const queues = of('AWS::SQS::Queue').map(([, q]) =>
    r.deep({
      MessageRetentionPeriod: Number(props(q).MessageRetentionPeriod),
      SqsManagedSseEnabled: props(q).SqsManagedSseEnabled ?? null,
    }),
  );

  const alarms: Record<string, Json> = {};
  for (const [, al] of of('AWS::CloudWatch::Alarm')) {
    const { AlarmName, AlarmDescription: _d, Dimensions, ...rest } = props(al);
    alarms[r.text(AlarmName)] = r.deep({
      ...rest,
      Dimensions: byKey(asList(Dimensions) as JsonObject[], 'Name'),
      AlarmActions: rest.AlarmActions ?? [],
      OKActions: rest.OKActions ?? [],
      DatapointsToAlarm: rest.DatapointsToAlarm ?? rest.EvaluationPeriods,
    });
  }

  const outputs = Object.fromEntries(
    Object.entries(template.Outputs ?? {}).map(([name, o]) => [
      name,
      { Description: r.text(o.Description), Value: r.text(o.Value) },
    ]),
  );

  return {
    tables,
    functions,
    iam,
    eventSourceMappings,
    lambdaPermissions,
    bucket: bucketModel,
    bucketPolicy,
    webSocket: apiModel('WEBSOCKET'),
    httpApi: apiModel('HTTP'),
    queues,
    alarms,
    outputs,
  };
}

/** A CDK template's roles: each function's role, its AWS::IAM::Policy statements and managed policies. */
export function cdkRoles(template: CfnTemplate): Record<string, SamRole> {
  const res = template.Resources;
  const roles: Record<string, SamRole> = {};
  for (const [id, f] of Object.entries(res)) {
    if (f.Type !== 'AWS::Lambda::Function') continue;
    const roleRef = (f.Properties?.Role as JsonObject)['Fn::GetAtt'] as string[];
    const roleId = roleRef[0];
    const role = res[roleId];
    const statements = Object.values(res)
      .filter(
        (x) =>
          x.Type === 'AWS::IAM::Policy' &&
          asList(x.Properties?.Roles).some((ref) => isObject(ref) && ref.Ref === roleId),
      )
      .flatMap((x) => asList((x.Properties?.PolicyDocument as JsonObject).Statement) as JsonObject[]);
    const inline = asList(role.Properties?.Policies).flatMap(
      (p) => asList(((p as JsonObject).PolicyDocument as JsonObject).Statement) as JsonObject[],
    );
    const managed = asList(role.Properties?.ManagedPolicyArns).map((arn) => {
      const text = JSON.stringify(arn);
      return text.slice(text.lastIndexOf('/') + 1).replace(/[^A-Za-z0-9-]/g, '');
    });
    roles[id] = { statements: [...statements, ...inline], managedPolicies: managed };
  }
  return roles;
}
