//! The messages table's stream consumer (`chat_handlers::StreamHandler`): a DynamoDB stream
//! event's JSON, deserialized into `aws_lambda_events`' `Event` as the Lambda runtime does,
//! each record's `NewImage` decoded into a `StoredMessage` through `serde_dynamo` (the data
//! model's contract), fanned out and notified over the seeded embedded store.
//!
//! Properties: nothing panics; a batch on a working store never reports a failed record (a
//! record that is not a message is skipped, so one bad record cannot stall its shard); every
//! frame pushed is well-formed and within the 128 KB limit; an image that decodes into a
//! message encodes back into an item that decodes into the same message.
//!
//! The input is the event's JSON; `{grp}` in it stands for the seeded group's id.

#![no_main]

use aws_lambda_events::dynamodb::Event;
use chat_domain::StoredMessage;
use chat_fuzz::{World, block_on};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let world = World::get();
    let Ok(event) = serde_json::from_str::<Event>(&world.expand(text)) else {
        return; // Not an event: the runtime fails the invocation before the handler runs.
    };
    let records = event.records.len();
    for record in &event.records {
        let image = record.change.new_image.clone();
        if let Ok(message) = serde_dynamo::from_item::<_, StoredMessage>(image) {
            let item: serde_dynamo::Item = serde_dynamo::to_item(&message).expect("an item");
            let back: StoredMessage = serde_dynamo::from_item(item).expect("its item decodes");
            assert_eq!(back, message, "a message that does not survive its item");
        }
    }
    let posts = world.pusher.posts();
    let response = block_on(world.stream.handle(event));
    chat_fuzz::trace(format_args!(
        "{} records -> {} pushes",
        records,
        world.pusher.posts() - posts
    ));
    assert!(
        response.batch_item_failures.is_empty(),
        "a batch failed on a working store: {:?}",
        response.batch_item_failures
    );
});
