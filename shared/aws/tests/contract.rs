//! The storage-port contract suite, run against the DynamoDB store on moto: each case gets
//! tables of its own (a random prefix), so runs never see each other's data.

mod support;

use std::sync::Arc;

use chat_contract::Stores;

async fn fresh() -> Stores {
    Stores::from_one(Arc::new(support::fresh_store().await))
}

chat_contract::contract_suite!(fresh);
