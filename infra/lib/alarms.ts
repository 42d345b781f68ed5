// The stream consumer's two alarms (the same as template.yaml's). Group fan-out and push run
// only on the stream, so these are the ones that say "members are not getting messages live":
//  - StreamFailuresAlarm: a batch was given up on (its metadata is in the failures queue).
//    Any message at all is worth a look, and the queue keeps them 14 days, so: Maximum of
//    ApproximateNumberOfMessagesVisible > 0 over one 60 s period. SQS reports the metric each
//    minute while the queue is active; a queue idle for hours reports nothing (and may take
//    minutes to resume after its first message): missing data is "no news", not a failure.
//  - StreamIteratorAgeAlarm: the consumer is falling behind (throttled posts, a slow large
//    group, errors being retried). Maximum IteratorAge > 60 s in each of 5 consecutive
//    minutes: one slow 10,000-member fan-out (~7 s) or a retry burst does not page anyone,
//    a sustained minute of lag does, long before MaximumRecordAgeInSeconds (1 h) drops records.
//    No invocations means no metric: missing data is not breaching.

import { Aws, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface ChatAlarmsProps {
  readonly failuresQueue: sqs.IQueue;
  readonly consumer: lambda.IFunction;
  /** '' = no actions (the alarms still show in the console). */
  readonly alarmTopicArn: string;
}

export class ChatAlarms extends Construct {
  readonly streamFailures: cloudwatch.Alarm;
  readonly iteratorAge: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ChatAlarmsProps) {
    super(scope, id);
    this.streamFailures = new cloudwatch.Alarm(this, 'StreamFailures', {
      alarmName: `${Aws.STACK_NAME}-stream-failures`,
      alarmDescription:
        'The stream consumer gave up on a batch: group fan-out or push missed some messages ' +
        '(clients still get them through sync). Inspect and replay from the StreamFailuresQueue.',
      metric: props.failuresQueue.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.seconds(60),
      }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: 0,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.iteratorAge = new cloudwatch.Alarm(this, 'StreamIteratorAge', {
      alarmName: `${Aws.STACK_NAME}-stream-iterator-age`,
      alarmDescription:
        'The messages stream consumer is more than a minute behind for 5 minutes: live group delivery and push are late.',
      metric: props.consumer.metric('IteratorAge', {
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.seconds(60),
      }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: 60000,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopicArn) {
      const topic = new actions.SnsAction(sns.Topic.fromTopicArn(this, 'Topic', props.alarmTopicArn));
      for (const alarm of [this.streamFailures, this.iteratorAge]) {
        alarm.addAlarmAction(topic);
        alarm.addOkAction(topic);
      }
    }
  }
}
