//! What one DynamoDB request costs in on-demand request units, by AWS's rules, from the
//! request the SDK sent and the answer it got:
//!
//! - writes: 1 unit per 1 KB of the item written (rounded up, at least 1); transactional
//!   writes twice that; every global secondary index the item is written to costs the same
//!   again (our indexes project ALL attributes);
//! - reads: 1 unit per 4 KB (rounded up, at least 1) strongly consistent, half that eventually
//!   consistent; `GetItem`/`BatchGetItem` round each item, `Query`/`Scan` the total of the page;
//!   index queries are always eventually consistent.
//!
//! Some sizes are not visible to a client and are estimated: an `UpdateItem` is sized from its
//! key plus the values it sets (AWS bills the larger of the item before and after), a
//! `DeleteItem` from its key. Every item this project updates or deletes is well under 1 KB
//! (`docs/data-model.md`), where both rules give the same single unit. A `Query` or `Scan`
//! with a filter is billed for every item read before the filter, but only the items that
//! pass come back: the meter undercounts by the items dropped (here: expired connections,
//! none in the benchmarks).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::scan::{ScanInput, ScanOutput};
use aws_sdk_dynamodb::operation::transact_get_items::{
    TransactGetItemsInput, TransactGetItemsOutput,
};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::interceptors::context::{Input, Output};

use super::item_size::{item_size, value_size};

type Item = HashMap<String, AttributeValue>;

const WRITE_UNIT_BYTES: u64 = 1024;
const READ_UNIT_BYTES: u64 = 4096;

/// Tables whose items are also written to global secondary indexes: table name → how many.
pub type IndexedTables = HashMap<String, u32>;

/// What is known once the request is built: its writes, and how its reads will be billed.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestCost {
    pub write_units: f64,
    read: ReadRule,
}

#[derive(Debug, Clone, Copy, Default)]
enum ReadRule {
    #[default]
    None,
    /// `GetItem`: the item, rounded.
    Item { strong: bool },
    /// `BatchGetItem`: each requested item rounded; a key not found still costs the minimum.
    Items { strong: bool, requested: usize },
    /// `TransactGetItems`: each item rounded, strongly consistent, twice.
    Transactional,
    /// `Query`/`Scan`: the page's total, rounded.
    Page { strong: bool },
}

impl RequestCost {
    /// The cost of the request in `input`, if it is a DynamoDB data operation.
    pub(crate) fn of_input(input: &Input, indexed: &IndexedTables) -> RequestCost {
        let writes = |table: Option<&str>, size: u64, factor: f64| {
            let indexes = table.and_then(|t| indexed.get(t)).copied().unwrap_or(0);
            factor * write_units(size) * f64::from(1 + indexes)
        };
        if let Some(put) = input.downcast_ref::<PutItemInput>() {
            let size = put.item().map_or(0, item_size);
            return RequestCost::writing(writes(put.table_name(), size, 1.0));
        }
        if let Some(update) = input.downcast_ref::<UpdateItemInput>() {
            let size = update_size(update.key(), update.expression_attribute_values());
            return RequestCost::writing(writes(update.table_name(), size, 1.0));
        }
        if let Some(delete) = input.downcast_ref::<DeleteItemInput>() {
            let size = delete.key().map_or(0, item_size);
            return RequestCost::writing(writes(delete.table_name(), size, 1.0));
        }
        if let Some(batch) = input.downcast_ref::<BatchWriteItemInput>() {
            let mut units = 0.0;
            for (table, requests) in batch.request_items().into_iter().flatten() {
                for request in requests {
                    let size = match (request.put_request(), request.delete_request()) {
                        (Some(put), _) => item_size(put.item()),
                        (None, Some(delete)) => item_size(delete.key()),
                        (None, None) => 0,
                    };
                    units += writes(Some(table), size, 1.0);
                }
            }
            return RequestCost::writing(units);
        }
        if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
            let mut units = 0.0;
            for item in transaction.transact_items() {
                let (table, size) = if let Some(put) = item.put() {
                    (put.table_name(), item_size(put.item()))
                } else if let Some(update) = item.update() {
                    let size =
                        update_size(Some(update.key()), update.expression_attribute_values());
                    (update.table_name(), size)
                } else if let Some(delete) = item.delete() {
                    (delete.table_name(), item_size(delete.key()))
                } else if let Some(check) = item.condition_check() {
                    // A condition check writes nothing, so no index either.
                    units += 2.0 * write_units(item_size(check.key()));
                    continue;
                } else {
                    continue;
                };
                units += writes(Some(table), size, 2.0);
            }
            return RequestCost::writing(units);
        }
        if let Some(get) = input.downcast_ref::<GetItemInput>() {
            return RequestCost::reading(ReadRule::Item {
                strong: get.consistent_read() == Some(true),
            });
        }
        if let Some(batch) = input.downcast_ref::<BatchGetItemInput>() {
            let tables = batch.request_items().into_iter().flatten();
            let requested = tables.clone().map(|(_, keys)| keys.keys().len()).sum();
            let strong = tables
                .map(|(_, keys)| keys.consistent_read())
                .any(|c| c == Some(true));
            return RequestCost::reading(ReadRule::Items { strong, requested });
        }
        if input.downcast_ref::<TransactGetItemsInput>().is_some() {
            return RequestCost::reading(ReadRule::Transactional);
        }
        if let Some(query) = input.downcast_ref::<QueryInput>() {
            let strong = query.index_name().is_none() && query.consistent_read() == Some(true);
            return RequestCost::reading(ReadRule::Page { strong });
        }
        if let Some(scan) = input.downcast_ref::<ScanInput>() {
            let strong = scan.index_name().is_none() && scan.consistent_read() == Some(true);
            return RequestCost::reading(ReadRule::Page { strong });
        }
        RequestCost::default()
    }

    fn writing(write_units: f64) -> RequestCost {
        RequestCost {
            write_units,
            read: ReadRule::None,
        }
    }

    fn reading(read: ReadRule) -> RequestCost {
        RequestCost {
            write_units: 0.0,
            read,
        }
    }

    /// The read units of the answer (none for a failed request).
    pub(crate) fn read_units(&self, output: Option<&Output>) -> f64 {
        let Some(output) = output else { return 0.0 };
        match self.read {
            ReadRule::None => 0.0,
            ReadRule::Item { strong } => {
                let size = output
                    .downcast_ref::<GetItemOutput>()
                    .and_then(GetItemOutput::item)
                    .map_or(0, item_size);
                read_units(size, strong)
            }
            ReadRule::Items { strong, requested } => {
                let found: Vec<u64> = output
                    .downcast_ref::<BatchGetItemOutput>()
                    .and_then(BatchGetItemOutput::responses)
                    .into_iter()
                    .flatten()
                    .flat_map(|(_, items)| items.iter().map(item_size))
                    .collect();
                let missing = requested.saturating_sub(found.len());
                found
                    .iter()
                    .map(|&size| read_units(size, strong))
                    .sum::<f64>()
                    + missing as f64 * read_units(0, strong)
            }
            ReadRule::Transactional => output
                .downcast_ref::<TransactGetItemsOutput>()
                .map(|out| {
                    out.responses()
                        .iter()
                        .map(|r| 2.0 * read_units(r.item().map_or(0, item_size), true))
                        .sum()
                })
                .unwrap_or(0.0),
            ReadRule::Page { strong } => {
                let items = output
                    .downcast_ref::<QueryOutput>()
                    .map(QueryOutput::items)
                    .or_else(|| output.downcast_ref::<ScanOutput>().map(ScanOutput::items));
                let total = items.into_iter().flatten().map(item_size).sum();
                read_units(total, strong)
            }
        }
    }
}

fn update_size(key: Option<&Item>, values: Option<&Item>) -> u64 {
    key.map_or(0, item_size)
        + values
            .into_iter()
            .flatten()
            .map(|(_, v)| value_size(v))
            .sum::<u64>()
}

fn write_units(size: u64) -> f64 {
    size.div_ceil(WRITE_UNIT_BYTES).max(1) as f64
}

fn read_units(size: u64, strong: bool) -> f64 {
    let units = size.div_ceil(READ_UNIT_BYTES).max(1) as f64;
    if strong { units } else { units / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

    fn item(body_bytes: usize) -> Item {
        HashMap::from([
            ("pk".to_string(), AttributeValue::S("c".into())),
            (
                "body".to_string(),
                AttributeValue::S("x".repeat(body_bytes)),
            ),
        ])
    }

    fn cost(
        input: impl std::fmt::Debug + Send + Sync + 'static,
        indexed: &IndexedTables,
    ) -> RequestCost {
        RequestCost::of_input(&Input::erase(input), indexed)
    }

    #[test]
    fn writes_round_up_per_kilobyte_and_count_indexes() -> Result<(), Box<dyn std::error::Error>> {
        let none = IndexedTables::new();
        let small = PutItemInput::builder()
            .table_name("t")
            .set_item(Some(item(10)))
            .build()?;
        assert_eq!(cost(small, &none).write_units, 1.0);
        // 2 + 1 + 4 + 1,100 bytes: two units.
        let large = PutItemInput::builder()
            .table_name("t")
            .set_item(Some(item(1100)))
            .build()?;
        assert_eq!(cost(large.clone(), &none).write_units, 2.0);
        let indexed = IndexedTables::from([("t".to_string(), 1)]);
        assert_eq!(cost(large, &indexed).write_units, 4.0);
        Ok(())
    }

    #[test]
    fn transactions_cost_twice_per_item() -> Result<(), Box<dyn std::error::Error>> {
        let put = Put::builder()
            .table_name("t")
            .set_item(Some(item(10)))
            .build()?;
        let update = Update::builder()
            .table_name("h")
            .set_key(Some(item(0)))
            .update_expression("SET n = :n")
            .expression_attribute_values(":n", AttributeValue::N("7".into()))
            .build()?;
        let input = TransactWriteItemsInput::builder()
            .transact_items(TransactWriteItem::builder().put(put.clone()).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            .build()?;
        assert_eq!(cost(input, &IndexedTables::new()).write_units, 6.0);
        Ok(())
    }

    #[test]
    fn reads_round_per_item_or_per_page() -> Result<(), Box<dyn std::error::Error>> {
        let none = IndexedTables::new();
        let get = cost(GetItemInput::builder().table_name("t").build()?, &none);
        let found = GetItemOutput::builder().set_item(Some(item(5000))).build();
        assert_eq!(get.read_units(Some(&Output::erase(found))), 1.0); // 2 × 4 KB / 2
        let missing = GetItemOutput::builder().build();
        assert_eq!(get.read_units(Some(&Output::erase(missing))), 0.5);
        assert_eq!(get.read_units(None), 0.0);

        let query = cost(
            QueryInput::builder()
                .table_name("t")
                .consistent_read(true)
                .build()?,
            &none,
        );
        // Ten items of 1,007 bytes: 10,070 bytes in all, three strongly consistent units.
        let page = QueryOutput::builder()
            .set_items(Some(vec![item(1000); 10]))
            .build();
        assert_eq!(query.read_units(Some(&Output::erase(page))), 3.0);
        let index = cost(
            QueryInput::builder()
                .table_name("t")
                .index_name("by-user")
                .consistent_read(true)
                .build()?,
            &none,
        );
        let empty = QueryOutput::builder().build();
        assert_eq!(index.read_units(Some(&Output::erase(empty))), 0.5);
        Ok(())
    }
}
