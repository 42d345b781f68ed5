// The HTTP API: ANY /v1/{proxy+} → http-api (payload 2.0), on the $default stage so paths carry
// no stage prefix. With a jwtIssuer, an API Gateway JWT authorizer checks the bearer token (the
// template's UseJwtAuthorizer); without, the `authorizer` Lambda does (REQUEST, payload 1.0: it
// answers an IAM policy, as on the WebSocket API).

import { Aws, Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import {
  HttpJwtAuthorizer,
  HttpLambdaAuthorizer,
  HttpLambdaResponseType,
} from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface ChatHttpApiProps {
  readonly handler: lambda.IFunction;
  readonly authorizer: lambda.IFunction;
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  readonly corsOrigins: string[];
}

export class ChatHttpApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;

  constructor(scope: Construct, id: string, props: ChatHttpApiProps) {
    super(scope, id);
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: `${Aws.STACK_NAME}-http`,
      // API Gateway answers CORS preflights itself, before any authorizer.
      corsPreflight: {
        allowOrigins: props.corsOrigins,
        allowMethods: [
          apigw.CorsHttpMethod.GET,
          apigw.CorsHttpMethod.POST,
          apigw.CorsHttpMethod.PUT,
          apigw.CorsHttpMethod.PATCH,
          apigw.CorsHttpMethod.DELETE,
        ],
        allowHeaders: ['authorization', 'content-type'],
        maxAge: Duration.seconds(3000),
      },
      // Our own stage below: the L2's default one cannot take throttling.
      createDefaultStage: false,
    });

    const authorizer = props.jwtIssuer
      ? new HttpJwtAuthorizer('jwt', props.jwtIssuer, {
          authorizerName: 'jwt',
          identitySource: ['$request.header.Authorization'],
          jwtAudience: [props.jwtAudience],
        })
      : new HttpLambdaAuthorizer('token', props.authorizer, {
          authorizerName: 'token',
          // IAM policy answers ⇒ payload format 1.0.
          responseTypes: [HttpLambdaResponseType.IAM],
          // No caching: the policy allows exactly the methodArn asked about, so a cached answer
          // would refuse the caller's next, different route. Without caching the identity
          // source is optional; none, so that the authorizer sees every request (it also reads
          // the `token` query parameter; see docs/deploy.md).
          resultsCacheTtl: Duration.seconds(0),
          identitySource: [],
        });

    const routes = this.api.addRoutes({
      path: '/v1/{proxy+}',
      methods: [apigw.HttpMethod.ANY],
      integration: new HttpLambdaIntegration('http-api', props.handler, {
        payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
        timeout: Duration.seconds(29),
      }),
      authorizer,
    });

    const stage = (this.stage = new apigw.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { burstLimit: 200, rateLimit: 500 },
    }));
    if (!props.jwtIssuer) {
      // identitySource: [] renders `IdentitySource: []`; leave the property out altogether,
      // as template.yaml does (the authorizer is created when the route binds it).
      const cfn = this.api.node.findChild('token').node.defaultChild as apigw.CfnAuthorizer;
      cfn.addPropertyDeletionOverride('IdentitySource');
    }
    // After the route, so that the first automatic deployment has it.
    for (const route of routes) stage.node.addDependency(route);
  }
}
