// The media bucket: private, SSE-S3, TLS only; clients PUT/GET with presigned URLs (the Lambdas
// never carry bytes). Uploads under uploads/ trigger the media function (the check after
// upload, thumbnails under thumbnails/, outside the filter so its own writes never trigger it).

import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/**
 * `<stack>-media-<account>-<region>`: named so that the functions can name it without a
 * reference (its notification refers to the media function, so a reference back would be a
 * cycle). Keep the stack name to 26 characters or fewer (bucket names end at 63).
 */
export const MEDIA_BUCKET_NAME = `${Aws.STACK_NAME}-media-${Aws.ACCOUNT_ID}-${Aws.REGION}`;

export interface ChatMediaProps {
  readonly corsOrigins: string[];
  /** 0 = keep forever; else uploads and thumbnails expire this many days after upload. */
  readonly messageRetentionDays: number;
  readonly mediaFunction: lambda.IFunction;
}

export class ChatMedia extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ChatMediaProps) {
    super(scope, id);
    const retention = props.messageRetentionDays;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: MEDIA_BUCKET_NAME,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      bucketKeyEnabled: true,
      // The bucket policy: deny s3:* without TLS.
      enforceSSL: true,
      cors: [
        {
          allowedMethods: [s3.HttpMethods.PUT, s3.HttpMethods.GET],
          allowedOrigins: props.corsOrigins,
          allowedHeaders: ['*'],
          exposedHeaders: ['ETag'],
          maxAge: 3000,
        },
        // Downloads from any origin: they arrive through the HTTP API's 302, a redirect to
        // another origin after which browsers send `Origin: null`, and a presigned GET URL is
        // a capability already (local/src/cors.rs).
        {
          allowedMethods: [s3.HttpMethods.GET],
          allowedOrigins: ['*'],
          allowedHeaders: ['*'],
          exposedHeaders: ['ETag'],
          maxAge: 3000,
        },
      ],
      lifecycleRules: [
        // A multipart upload that never completes is invisible but billed: drop it after a day.
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // Media follows message retention (docs/deploy.md, "Media bucket"). Kept as a disabled
        // rule without retention, as the template does, so that switching it is an update.
        {
          id: 'expire-with-messages',
          enabled: retention > 0,
          expiration: Duration.days(retention > 0 ? retention : 1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });

    // The S3 event as CloudFormation's own NotificationConfiguration (what SAM generates), not
    // bucket.addEventNotification: that one adds a Custom::S3BucketNotifications resource with
    // a Python Lambda of its own and s3:PutBucketNotification on "*".
    const permission = new lambda.CfnPermission(this, 'UploadsPermission', {
      action: 'lambda:InvokeFunction',
      functionName: props.mediaFunction.functionName,
      principal: 's3.amazonaws.com',
      sourceAccount: Aws.ACCOUNT_ID,
      // By name, like everything else that points at the bucket (no cycle).
      sourceArn: `arn:${Aws.PARTITION}:s3:::${MEDIA_BUCKET_NAME}`,
    });
    const cfnBucket = this.bucket.node.defaultChild as s3.CfnBucket;
    cfnBucket.notificationConfiguration = {
      lambdaConfigurations: [
        {
          event: 's3:ObjectCreated:*',
          filter: { s3Key: { rules: [{ name: 'prefix', value: 'uploads/' }] } },
          function: props.mediaFunction.functionArn,
        },
      ],
    };
    // S3 checks that it may invoke the function when the configuration is set.
    cfnBucket.node.addDependency(permission);
  }
}
