//! AWS adapters behind the ports: DynamoDB stores, the API Gateway management API pusher (S3 and SNS next).
