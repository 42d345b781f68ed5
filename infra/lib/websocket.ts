// The WebSocket API: route = $request.body.action, a Lambda REQUEST authorizer on $connect
// (identity `?token=`), and every other route two-way so the handler's answer goes back on the
// socket. Built in two steps because the functions need the API's id (their management
// endpoint) before the routes can need the functions.

import { Aws, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { Binary } from './functions';
import { postToConnectionsArn } from './permissions';

/** Route key → the function behind it. `default` takes $default and ping, `receipt` ack and receipt. */
const ROUTES: readonly (readonly [routeKey: string, binary: Binary])[] = [
  ['$default', 'default'],
  ['ping', 'default'],
  ['send', 'send'],
  ['ack', 'receipt'],
  ['receipt', 'receipt'],
  ['sync', 'sync'],
  ['recall', 'recall'],
  ['typing', 'typing'],
  ['presence', 'presence'],
];

export class ChatWebSocket extends Construct {
  readonly api: apigw.WebSocketApi;
  readonly stageName: string;
  /** WEBSOCKET_MANAGEMENT_ENDPOINT: https://{api}.execute-api.{region}.{suffix}/{stage}. */
  readonly managementEndpoint: string;
  /** What a function that posts may call: POST on this stage's @connections, nothing else. */
  readonly postToConnectionsArn: string;
  /** Set by addRoutes. */
  stage?: apigw.WebSocketStage;

  constructor(scope: Construct, id: string, props: { readonly stageName: string }) {
    super(scope, id);
    this.stageName = props.stageName;
    this.api = new apigw.WebSocketApi(this, 'Api', {
      apiName: `${Aws.STACK_NAME}-websocket`,
      routeSelectionExpression: '$request.body.action',
    });
    this.managementEndpoint = `https://${this.api.apiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/${props.stageName}`;
    this.postToConnectionsArn = postToConnectionsArn(Stack.of(this), this.api.apiId, props.stageName);
  }

  /** Adds the authorizer and the routes, then the stage (so its first deployment has them all). */
  addRoutes(fns: Record<Binary, lambda.IFunction>): apigw.WebSocketStage {
    const integrations = new Map<Binary, WebSocketLambdaIntegration>();
    // One integration per function, shared by its routes (as the template's DefaultIntegration).
    const integration = (binary: Binary): WebSocketLambdaIntegration => {
      let found = integrations.get(binary);
      if (!found) {
        found = new WebSocketLambdaIntegration(`${binary}-integration`, fns[binary]);
        integrations.set(binary, found);
      }
      return found;
    };
    const routes: apigw.WebSocketRoute[] = [];
    routes.push(
      this.api.addRoute('$connect', {
        integration: integration('connect'),
        // A connect without ?token= is refused (401) before the Lambda runs.
        authorizer: new WebSocketLambdaAuthorizer('token', fns.authorizer, {
          authorizerName: 'token',
          identitySource: ['route.request.querystring.token'],
        }),
      }),
      this.api.addRoute('$disconnect', { integration: integration('disconnect') }),
    );
    for (const [routeKey, binary] of ROUTES) {
      routes.push(this.api.addRoute(routeKey, { integration: integration(binary), returnResponse: true }));
    }
    for (const route of routes) {
      (route.node.defaultChild as apigw.CfnRoute).operationName = operationName(route.routeKey);
    }
    const stage = new apigw.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: this.stageName,
      autoDeploy: true,
      throttle: { burstLimit: 500, rateLimit: 1000 },
    });
    for (const route of routes) stage.node.addDependency(route);
    this.stage = stage;
    return stage;
  }
}

function operationName(routeKey: string): string {
  return routeKey.replace(/^\$/, '');
}
