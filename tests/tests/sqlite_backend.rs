//! The chat scenarios on the default backend, the embedded store.

chat_tests::scenario_suite!(chat_tests::TestServer::start);
