//! The storage-port contract suite, run against the embedded store: each case gets a store in
//! a fresh directory of its own.

use std::sync::Arc;

use chat_contract::Stores;
use chat_store_sqlite::SqliteStore;

/// A store in a new directory under cargo's per-target temp dir. The directory is kept (not
/// deleted) because the store outlives this function inside `Stores`; `cargo clean` removes it.
async fn fresh() -> Stores {
    let dir = tempfile::Builder::new()
        .prefix("contract-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
        .keep();
    let store = SqliteStore::open(&dir).expect("open the store");
    Stores::from_one(Arc::new(store))
}

chat_contract::contract_suite!(fresh);
