//! The route handlers: plain async functions over ports and aws_lambda_events types, shared by the Lambdas and chat-local.
