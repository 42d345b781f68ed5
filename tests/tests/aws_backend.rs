//! The chat scenarios on `chat-local --backend aws`: DynamoDB on the moto server the test
//! script started (`MOTO_ENDPOINT`), and every push through the real management API adapter
//! to chat-local's own `@connections` endpoint.

chat_tests::scenario_suite!(chat_tests::TestServer::start_aws);
