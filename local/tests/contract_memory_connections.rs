//! The storage-port contract suite with chat-local's in-memory connections
//! (`MemoryConnections`, what the embedded backend uses for `ConnectionStore`) and the embedded
//! store for every other port: the connection cases check the memory store, the rest check
//! that nothing else relied on connections living in SQLite.

use std::sync::Arc;

use chat_contract::Stores;
use chat_local::MemoryConnections;
use chat_store_sqlite::SqliteStore;

async fn fresh() -> Stores {
    let dir = tempfile::Builder::new()
        .prefix("contract-memory-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
        .keep();
    let store = SqliteStore::open(&dir).expect("open the store");
    Stores {
        connections: Arc::new(MemoryConnections::new()),
        ..Stores::from_one(Arc::new(store))
    }
}

chat_contract::contract_suite!(fresh);
