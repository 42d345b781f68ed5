//! From what a design did to what it costs per message: counts by AWS's metering units, then
//! dollars at list prices.

use std::collections::BTreeMap;

use chat_aws::metering::MeterSnapshot;
use chat_local::InvocationTally;
use serde::Serialize;

/// us-east-1 list prices, as published on the dates below (on-demand DynamoDB since the
/// November 2024 price cut; Lambda on arm64; S3 Standard).
pub struct Prices;

impl Prices {
    pub const DATE: &'static str = "2026-11-24 (DynamoDB, API Gateway, Lambda) and 2026-12-01 \
         (S3, SNS, HTTP API): us-east-1 list prices, on-demand, arm64, S3 Standard";
    pub const DYNAMODB_WRITE_UNIT: f64 = 0.625 / 1e6;
    pub const DYNAMODB_READ_UNIT: f64 = 0.125 / 1e6;
    pub const API_GATEWAY_MESSAGE: f64 = 1.00 / 1e6;
    pub const API_GATEWAY_CONNECTION_MINUTE: f64 = 0.25 / 1e6;
    /// HTTP API requests, first 300 million a month (metered in 512 KB increments; every
    /// request here is far below). aws.amazon.com/api-gateway/pricing, 2026-12-01.
    pub const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
    /// A delivery to a mobile push endpoint (FCM, APNs).
    pub const SNS_MOBILE_PUSH: f64 = 0.50 / 1e6;
    /// An SNS API request (`Publish` included), per 64 KB chunk of its payload: SNS bills the
    /// publish as a request and the delivery apart (aws.amazon.com/sns/faqs: "Each 64KB chunk
    /// of published data is billed as 1 request"; aws.amazon.com/sns/pricing, 2026-12-01).
    pub const SNS_REQUEST: f64 = 0.50 / 1e6;
    /// S3 Standard PUT, COPY, POST and LIST requests: $0.005 per 1,000
    /// (aws.amazon.com/s3/pricing, 2026-12-01). DELETE is free.
    pub const S3_PUT_REQUEST: f64 = 0.005 / 1e3;
    /// S3 Standard GET, SELECT and every other request (HEAD among them): $0.0004 per 1,000.
    pub const S3_GET_REQUEST: f64 = 0.0004 / 1e3;
    /// S3 Standard storage, first 50 TB a month: per GB-month. Not in the per-message totals
    /// (it depends on how long media is kept), printed beside them.
    pub const S3_STORAGE_GB_MONTH: f64 = 0.023;
    /// Data transfer out of AWS to the internet, after the first 100 GB a month (the first
    /// 10 TB tier): what a device's download of a photo costs besides its request. Printed
    /// beside the totals, not in them (it is the same for any design that stores media in S3).
    pub const INTERNET_TRANSFER_OUT_GB: f64 = 0.09;
}

/// `Globals.Function.MemorySize` in `template.yaml`, for every function that sets no
/// `MemorySize` of its own (and for the baselines' functions).
const DEFAULT_MEMORY_MB: u32 = 256;

/// The functions of `template.yaml` with a `MemorySize` of their own (by binary name).
/// `template_memory_sizes_are_the_ones_priced` checks the pair against the template.
const MEMORY_MB: [(&str, u32); 2] = [("media", 1024), ("disconnect", 128)];

/// A function's memory in GB, as `template.yaml` configures it: what its GB-seconds bill at.
pub fn lambda_memory_gb(function: &str) -> f64 {
    let mb = MEMORY_MB
        .iter()
        .find(|(name, _)| *name == function)
        .map_or(DEFAULT_MEMORY_MB, |&(_, mb)| mb);
    f64::from(mb) / 1024.0
}

/// S3 requests the server's SDK clients do not make, and presigned URLs that the SDK's
/// interceptor sees as requests although nothing is sent (presigning runs the SDK's request
/// pipeline up to "before transmit", where the meter counts; the URL is signed locally).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DirectS3 {
    /// The device's PUT of its bytes to a presigned upload URL (S3 bills it as a PUT).
    pub device_puts: u64,
    /// The device's GETs of presigned download URLs (S3 bills each as a GET).
    pub device_gets: u64,
    /// Upload URLs the server presigned (counted by the meter as `S3.PutObject`: subtracted).
    pub presigned_puts: u64,
    /// Download URLs the server presigned (counted as `S3.GetObject`: subtracted).
    pub presigned_gets: u64,
}

impl DirectS3 {
    fn since(&self, earlier: &DirectS3) -> DirectS3 {
        DirectS3 {
            device_puts: self.device_puts.saturating_sub(earlier.device_puts),
            device_gets: self.device_gets.saturating_sub(earlier.device_gets),
            presigned_puts: self.presigned_puts.saturating_sub(earlier.presigned_puts),
            presigned_gets: self.presigned_gets.saturating_sub(earlier.presigned_gets),
        }
    }
}

/// What one design did while it carried `messages` messages.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub messages: u64,
    /// Every AWS request, by operation (`DynamoDB.PutItem`, …).
    pub aws: MeterSnapshot,
    /// API Gateway messages in both directions, in 32 KB units.
    pub api_gateway_messages: u64,
    /// Lambda invocations by function.
    pub lambda: BTreeMap<String, InvocationTally>,
    /// S3 requests outside the server's SDK clients, and presigned URLs to take out.
    pub s3_direct: DirectS3,
}

/// Per message.
#[derive(Debug, Clone, Serialize)]
pub struct PerMessage {
    pub dynamodb_requests: f64,
    /// `PutItem`, `UpdateItem`, `DeleteItem`, `BatchWriteItem`, `TransactWriteItems` requests.
    pub dynamodb_write_requests: f64,
    /// `Query` and `Scan` requests.
    pub dynamodb_queries: f64,
    pub read_units: f64,
    pub write_units: f64,
    pub api_gateway_messages: f64,
    /// HTTP API requests: one per `http-api` invocation.
    pub http_api_requests: f64,
    pub lambda_invocations: f64,
    /// At each function's memory size (`lambda_memory_gb`).
    pub lambda_gb_seconds: f64,
    /// S3 PUT-class requests (PUT, COPY, POST, LIST), the device's PUT included and
    /// presigning taken out.
    pub s3_put_requests: f64,
    /// S3 GET-class requests (GET, SELECT, …), the device's GETs included and presigning
    /// taken out; `HeadObject` left out (`s3_head_requests_left_out`).
    pub s3_get_requests: f64,
    /// `S3.HeadObject`: chat-local's polls of a presigned upload key, standing in for S3's
    /// event notification, which invokes the `media` function on AWS. Counted, not priced.
    pub s3_head_requests_left_out: f64,
    /// `S3.DeleteObject` (free).
    pub s3_delete_requests: f64,
    /// Every SNS API request (`Publish`, `CreatePlatformEndpoint`, …).
    pub sns_requests: f64,
    /// `SNS.Publish` to a platform endpoint: a mobile push delivery each.
    pub sns_publishes: f64,
    /// DynamoDB Streams reads: free when Lambda reads the stream, so not priced.
    pub stream_reads: f64,
    /// Dollars per million messages.
    pub dollars_per_million: Dollars,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Dollars {
    pub dynamodb: f64,
    pub api_gateway_messages: f64,
    pub api_gateway_connection_minutes: f64,
    pub http_api: f64,
    pub lambda: f64,
    pub s3: f64,
    /// SNS requests and mobile push deliveries.
    pub sns: f64,
    pub total: f64,
}

const WRITES: [&str; 5] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

/// S3 operations billed at the PUT, COPY, POST, LIST rate.
const S3_PUT_CLASS: [&str; 10] = [
    "PutObject",
    "CopyObject",
    "PostObject",
    "ListObjects",
    "ListObjectsV2",
    "ListObjectVersions",
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "CompleteMultipartUpload",
];
/// S3 operations that are free (DELETE and CANCEL).
const S3_FREE: [&str; 3] = ["DeleteObject", "DeleteObjects", "AbortMultipartUpload"];
/// Left out of the S3 figures: see [`PerMessage::s3_head_requests_left_out`].
const S3_LEFT_OUT: &str = "HeadObject";
/// Setting up a run (not per message, never in a measured phase).
const S3_SETUP: [&str; 2] = ["CreateBucket", "HeadBucket"];

impl Measured {
    /// What happened between `earlier` and this, while `messages` were carried.
    pub fn since(&self, earlier: &Measured, messages: u64) -> Measured {
        let lambda = self
            .lambda
            .iter()
            .map(|(function, now)| {
                let before = earlier.lambda.get(function).copied().unwrap_or_default();
                (function.clone(), now.since(&before))
            })
            .filter(|(_, delta)| delta.invocations > 0)
            .collect();
        Measured {
            messages,
            aws: self.aws.since(&earlier.aws),
            api_gateway_messages: self
                .api_gateway_messages
                .saturating_sub(earlier.api_gateway_messages),
            lambda,
            s3_direct: self.s3_direct.since(&earlier.s3_direct),
        }
    }

    /// Per message, with `connection_minutes_per_message` of API Gateway connection time (the
    /// same for every design: it depends on how long users stay connected, not on the design).
    pub fn per_message(&self, connection_minutes_per_message: f64) -> PerMessage {
        let n = self.messages.max(1) as f64;
        let dynamodb = self.aws.total("DynamoDB");
        let count = |service: &str, ops: &[&str]| -> u64 {
            self.aws
                .service(service)
                .filter(|(op, _)| ops.contains(op))
                .map(|(_, t)| t.requests)
                .sum()
        };
        let invocations: u64 = self.lambda.values().map(|t| t.invocations).sum();
        let gb_seconds: f64 = self
            .lambda
            .iter()
            .map(|(function, t)| t.billed_ms as f64 / 1000.0 * lambda_memory_gb(function))
            .sum();
        let http_api = self.lambda.get("http-api").map_or(0, |t| t.invocations);
        let direct = &self.s3_direct;
        let s3_all = self.aws.total("S3").requests;
        let s3_put = count("S3", &S3_PUT_CLASS);
        let s3_free = count("S3", &S3_FREE);
        let s3_head = count("S3", &[S3_LEFT_OUT]);
        let s3_setup = count("S3", &S3_SETUP);
        let s3_get = s3_all - s3_put - s3_free - s3_head - s3_setup;
        let s3_put = (s3_put + direct.device_puts).saturating_sub(direct.presigned_puts);
        let s3_get = (s3_get + direct.device_gets).saturating_sub(direct.presigned_gets);
        let per = PerMessage {
            dynamodb_requests: dynamodb.requests as f64 / n,
            dynamodb_write_requests: count("DynamoDB", &WRITES) as f64 / n,
            dynamodb_queries: count("DynamoDB", &["Query", "Scan"]) as f64 / n,
            read_units: dynamodb.read_units / n,
            write_units: dynamodb.write_units / n,
            api_gateway_messages: self.api_gateway_messages as f64 / n,
            http_api_requests: http_api as f64 / n,
            lambda_invocations: invocations as f64 / n,
            lambda_gb_seconds: gb_seconds / n,
            s3_put_requests: s3_put as f64 / n,
            s3_get_requests: s3_get as f64 / n,
            s3_head_requests_left_out: s3_head as f64 / n,
            s3_delete_requests: s3_free as f64 / n,
            sns_requests: self.aws.total("SNS").requests as f64 / n,
            sns_publishes: count("SNS", &["Publish"]) as f64 / n,
            stream_reads: self.aws.total("DynamoDB Streams").requests as f64 / n,
            dollars_per_million: Dollars::default(),
        };
        let million = 1e6;
        let dollars = Dollars {
            dynamodb: million
                * (per.read_units * Prices::DYNAMODB_READ_UNIT
                    + per.write_units * Prices::DYNAMODB_WRITE_UNIT),
            api_gateway_messages: million * per.api_gateway_messages * Prices::API_GATEWAY_MESSAGE,
            api_gateway_connection_minutes: million
                * connection_minutes_per_message
                * Prices::API_GATEWAY_CONNECTION_MINUTE,
            http_api: million * per.http_api_requests * Prices::HTTP_API_REQUEST,
            lambda: million
                * (per.lambda_invocations * Prices::LAMBDA_REQUEST
                    + per.lambda_gb_seconds * Prices::LAMBDA_GB_SECOND),
            s3: million
                * (per.s3_put_requests * Prices::S3_PUT_REQUEST
                    + per.s3_get_requests * Prices::S3_GET_REQUEST),
            sns: million
                * (per.sns_requests * Prices::SNS_REQUEST
                    + per.sns_publishes * Prices::SNS_MOBILE_PUSH),
            total: 0.0,
        };
        PerMessage {
            dollars_per_million: dollars.with_total(),
            ..per
        }
    }
}

impl PerMessage {
    /// What `self` costs beyond `baseline`, figure by figure (a difference can be negative
    /// where `baseline` did more of something).
    pub fn minus(&self, baseline: &PerMessage) -> PerMessage {
        let (a, b) = (self, baseline);
        let (x, y) = (&a.dollars_per_million, &b.dollars_per_million);
        PerMessage {
            dynamodb_requests: a.dynamodb_requests - b.dynamodb_requests,
            dynamodb_write_requests: a.dynamodb_write_requests - b.dynamodb_write_requests,
            dynamodb_queries: a.dynamodb_queries - b.dynamodb_queries,
            read_units: a.read_units - b.read_units,
            write_units: a.write_units - b.write_units,
            api_gateway_messages: a.api_gateway_messages - b.api_gateway_messages,
            http_api_requests: a.http_api_requests - b.http_api_requests,
            lambda_invocations: a.lambda_invocations - b.lambda_invocations,
            lambda_gb_seconds: a.lambda_gb_seconds - b.lambda_gb_seconds,
            s3_put_requests: a.s3_put_requests - b.s3_put_requests,
            s3_get_requests: a.s3_get_requests - b.s3_get_requests,
            s3_head_requests_left_out: a.s3_head_requests_left_out - b.s3_head_requests_left_out,
            s3_delete_requests: a.s3_delete_requests - b.s3_delete_requests,
            sns_requests: a.sns_requests - b.sns_requests,
            sns_publishes: a.sns_publishes - b.sns_publishes,
            stream_reads: a.stream_reads - b.stream_reads,
            dollars_per_million: Dollars {
                dynamodb: x.dynamodb - y.dynamodb,
                api_gateway_messages: x.api_gateway_messages - y.api_gateway_messages,
                api_gateway_connection_minutes: x.api_gateway_connection_minutes
                    - y.api_gateway_connection_minutes,
                http_api: x.http_api - y.http_api,
                lambda: x.lambda - y.lambda,
                s3: x.s3 - y.s3,
                sns: x.sns - y.sns,
                total: x.total - y.total,
            },
        }
    }
}

impl Dollars {
    fn with_total(self) -> Dollars {
        Dollars {
            total: self.dynamodb
                + self.api_gateway_messages
                + self.api_gateway_connection_minutes
                + self.http_api
                + self.lambda
                + self.s3
                + self.sns,
            ..self
        }
    }

    /// API Gateway, both APIs: WebSocket messages and connection-minutes, HTTP API requests.
    pub fn api_gateway(&self) -> f64 {
        self.api_gateway_messages + self.api_gateway_connection_minutes + self.http_api
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_aws::metering::OperationTally;

    fn requests(n: u64) -> OperationTally {
        OperationTally {
            requests: n,
            operations: n,
            ..OperationTally::default()
        }
    }

    #[test]
    fn a_message_of_one_write_unit_and_three_api_messages_costs_what_the_price_list_says() {
        let mut aws = MeterSnapshot::default();
        aws.operations.insert(
            "DynamoDB.PutItem".into(),
            OperationTally {
                write_units: 10.0,
                ..requests(10)
            },
        );
        aws.operations.insert(
            "DynamoDB.Query".into(),
            OperationTally {
                read_units: 5.0,
                ..requests(10)
            },
        );
        let lambda = BTreeMap::from([(
            "send".to_string(),
            InvocationTally {
                invocations: 10,
                billed_ms: 40,
                micros: 35_000,
            },
        )]);
        let measured = Measured {
            messages: 10,
            aws,
            api_gateway_messages: 30,
            lambda,
            s3_direct: DirectS3::default(),
        };
        let per = measured.per_message(1.0);
        assert_eq!(per.dynamodb_write_requests, 1.0);
        assert_eq!(per.dynamodb_queries, 1.0);
        let d = &per.dollars_per_million;
        assert!((d.dynamodb - (0.625 + 0.5 * 0.125)).abs() < 1e-9, "{d:?}");
        assert!((d.api_gateway_messages - 3.0).abs() < 1e-9);
        assert!((d.api_gateway_connection_minutes - 0.25).abs() < 1e-9);
        // 0.2 $/M requests + 4 ms × 0.25 GB = 0.001 GB-s per message.
        assert!((d.lambda - (0.2 + 0.001 * 13.3334)).abs() < 1e-6, "{d:?}");
        assert!((d.total - (d.dynamodb + d.api_gateway_messages + 0.25 + d.lambda)).abs() < 1e-9);
    }

    #[test]
    fn a_photo_bills_s3_by_request_class_without_presigning_or_the_local_polls() {
        let mut aws = MeterSnapshot::default();
        // 2 presigned download URLs and the check's read; 1 presigned upload URL and the
        // thumbnail; 3 polls of chat-local's stand-in for the S3 event; 1 delete.
        aws.operations.insert("S3.GetObject".into(), requests(3));
        aws.operations.insert("S3.PutObject".into(), requests(2));
        aws.operations.insert("S3.HeadObject".into(), requests(3));
        aws.operations.insert("S3.DeleteObject".into(), requests(1));
        let lambda = BTreeMap::from([
            (
                "media".to_string(),
                InvocationTally {
                    invocations: 1,
                    billed_ms: 100,
                    micros: 99_500,
                },
            ),
            (
                "http-api".to_string(),
                InvocationTally {
                    invocations: 3,
                    billed_ms: 30,
                    micros: 29_000,
                },
            ),
        ]);
        let measured = Measured {
            messages: 1,
            aws,
            api_gateway_messages: 0,
            lambda,
            s3_direct: DirectS3 {
                device_puts: 1,
                device_gets: 2,
                presigned_puts: 1,
                presigned_gets: 2,
            },
        };
        let per = measured.per_message(0.0);
        assert_eq!(
            per.s3_put_requests, 2.0,
            "the device's PUT and the thumbnail"
        );
        assert_eq!(
            per.s3_get_requests, 3.0,
            "the check's GET and the device's two"
        );
        assert_eq!(per.s3_head_requests_left_out, 3.0);
        assert_eq!(per.s3_delete_requests, 1.0);
        assert_eq!(per.http_api_requests, 3.0);
        // 100 ms at 1 GB + 30 ms at 0.25 GB.
        assert!((per.lambda_gb_seconds - (0.1 + 0.0075)).abs() < 1e-12);
        let d = &per.dollars_per_million;
        assert!((d.s3 - (2.0 * 5.0 + 3.0 * 0.4)).abs() < 1e-9, "{d:?}");
        assert!((d.http_api - 3.0).abs() < 1e-9);
        assert!((d.total - (d.s3 + d.http_api + d.lambda)).abs() < 1e-9);
    }

    #[test]
    fn a_push_bills_the_publish_request_and_the_delivery() {
        let mut aws = MeterSnapshot::default();
        aws.operations.insert("SNS.Publish".into(), requests(4));
        let measured = Measured {
            messages: 4,
            aws,
            api_gateway_messages: 0,
            lambda: BTreeMap::new(),
            s3_direct: DirectS3::default(),
        };
        let per = measured.per_message(0.0);
        assert_eq!((per.sns_requests, per.sns_publishes), (1.0, 1.0));
        assert!((per.dollars_per_million.sns - 1.0).abs() < 1e-9);
        let nothing = per.minus(&per);
        assert_eq!(nothing.dollars_per_million.total, 0.0);
    }

    /// `MemorySize` of every function in `template.yaml`, by its binary: the globals' one
    /// unless it sets its own.
    fn template_memory_sizes() -> Vec<(String, u32)> {
        let template = include_str!("../../../template.yaml");
        let number = |line: &str| line.trim().strip_prefix("MemorySize:")?.trim().parse().ok();
        let global = template
            .lines()
            .skip_while(|line| !line.starts_with("Globals:"))
            .find_map(number)
            .expect("Globals.Function.MemorySize");
        let mut sizes = Vec::new();
        let mut current: Option<(String, Option<u32>)> = None;
        let mut in_resources = false;
        for line in template.lines() {
            let top_level = !line.starts_with(' ') && !line.trim().is_empty();
            let resource = line.starts_with("  ") && !line.starts_with("   ");
            let ends_one =
                top_level || (in_resources && resource && !line.trim_start().starts_with('#'));
            if ends_one && let Some((binary, mb)) = current.take() {
                sizes.push((binary, mb.unwrap_or(global)));
            }
            if top_level {
                in_resources = line.starts_with("Resources:");
                continue;
            }
            if !in_resources {
                continue;
            }
            let trimmed = line.trim();
            if let Some(binary) = trimmed.strip_prefix("Binary:") {
                current = Some((binary.trim().to_string(), None));
            } else if let (Some(mb), Some((_, slot))) = (number(line), current.as_mut()) {
                *slot = Some(mb);
            }
        }
        if let Some((binary, mb)) = current {
            sizes.push((binary, mb.unwrap_or(global)));
        }
        sizes
    }

    #[test]
    fn template_memory_sizes_are_the_ones_priced() {
        let sizes = template_memory_sizes();
        assert!(sizes.len() >= 13, "{sizes:?}");
        for (binary, mb) in &sizes {
            assert_eq!(
                lambda_memory_gb(binary),
                f64::from(*mb) / 1024.0,
                "{binary}: template.yaml says {mb} MB"
            );
        }
        assert!(sizes.contains(&("media".to_string(), 1024)), "{sizes:?}");
    }
}
