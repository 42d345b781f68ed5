//! The embedded store (SQLite, WAL, synchronous=FULL): chat-local's durable default backend for every storage port.
