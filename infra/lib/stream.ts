// The messages table's stream consumer: group fan-out off the sender's path, and a recall's
// `recalled` in a group. Batches it gives up on go (as metadata, not the records) to an SQS
// queue, for the alarms and for replay; the messages themselves are safe in the table.
//
// A plain event source mapping with our own two statements, not DynamoEventSource + SqsDlq:
// those grant dynamodb:ListStreams on "*" and sqs:GetQueueAttributes/GetQueueUrl besides
// SendMessage, more than Lambda needs to poll one stream and post failure records.

import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface ChatStreamProps {
  readonly messages: dynamodb.Table;
  readonly consumer: lambda.Function;
}

export class ChatStream extends Construct {
  readonly failures: sqs.Queue;
  readonly mapping: lambda.EventSourceMapping;

  constructor(scope: Construct, id: string, props: ChatStreamProps) {
    super(scope, id);
    const streamArn = props.messages.tableStreamArn;
    if (!streamArn) throw new Error('ChatStream: the messages table has no stream');

    this.failures = new sqs.Queue(this, 'FailuresQueue', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    const failures = this.failures;

    // What Lambda's poller calls on the consumer's behalf: the stream's shards and records
    // (the stream's own ARN), and ListStreams, scoped to this table's streams as AWS's own
    // example policy does.
    props.consumer.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadMessagesStream',
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [streamArn],
      }),
    );
    props.consumer.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ListMessagesStreams',
        actions: ['dynamodb:ListStreams'],
        resources: [`${props.messages.tableArn}/stream/*`],
      }),
    );

    this.mapping = props.consumer.addEventSourceMapping('Messages', {
      eventSourceArn: streamArn,
      startingPosition: lambda.StartingPosition.LATEST,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(0),
      // Up to 10 batches of a shard at once; Lambda still keeps each partition key's records
      // (a conversation's messages) in order, which is what devices need.
      parallelizationFactor: 10,
      // The handler reports the first record it could not fan out; the batch resumes there.
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: 5,
      // Live delivery older than an hour is pointless: clients have synced by then.
      maxRecordAge: Duration.hours(1),
      onFailure: {
        bind: (_mapping: lambda.IEventSourceMapping, handler: lambda.IFunction): lambda.DlqDestinationConfig => {
          handler.addToRolePolicy(
            new iam.PolicyStatement({
              sid: 'OnFailureDestination',
              actions: ['sqs:SendMessage'],
              resources: [failures.queueArn],
            }),
          );
          return { destination: failures.queueArn };
        },
      },
    });
    // The role's policy must exist before the mapping, or its first poll is refused.
    const policy = props.consumer.role?.node.tryFindChild('DefaultPolicy');
    if (policy) this.mapping.node.addDependency(policy);
  }
}
