//! What one DynamoDB request costs in on-demand request units, by AWS's rules, from the
//! request the SDK sent and the answer it got:
//!
//! - writes: 1 unit per 1 KB of the item written (rounded up, at least 1); transactional
//!   writes twice that; every global secondary index the write reaches costs the same again
//!   (and a change of an index's key twice: the old entry is deleted, the new one put). A
//!   write reaches an index when it puts or deletes an item that has the index's key
//!   attributes (an index on an attribute only some items have is sparse), or updates a key
//!   or projected attribute of one. A write whose condition fails is billed for the table
//!   (not the index, which it never reached); any other failed request for nothing;
//! - reads: 1 unit per 4 KB (rounded up, at least 1) strongly consistent, half that eventually
//!   consistent; `GetItem`/`BatchGetItem` round each item, `Query`/`Scan` the total of the page;
//!   index queries are always eventually consistent.
//!
//! Some sizes are not visible to a client and are estimated from below: an `UpdateItem` is
//! sized from its key plus the values it sets, or from the item it returns when it asks for
//! one (AWS bills the larger of the item before and after); a `DeleteItem` from the item it
//! returns, else its key; a read from the attributes returned (a projection still reads the
//! whole item). A `Query` or `Scan` with a filter is billed for every item read before the
//! filter, but only the items that pass come back. Every item this project updates, deletes or
//! projects is well under 1 KB (`docs/data-model.md`), where these estimates give the billed
//! single unit; the filtered rows (expired connections) do not occur in the benchmarks.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::operation::delete_item::{
    DeleteItemError, DeleteItemInput, DeleteItemOutput,
};
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemInput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::scan::{ScanInput, ScanOutput};
use aws_sdk_dynamodb::operation::transact_get_items::{
    TransactGetItemsInput, TransactGetItemsOutput,
};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsInput,
};
use aws_sdk_dynamodb::operation::update_item::{
    UpdateItemError, UpdateItemInput, UpdateItemOutput,
};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_smithy_runtime_api::client::interceptors::context::{Error, Input, Output};
use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;

use super::item_size::{item_size, value_size};

type Item = HashMap<String, AttributeValue>;

const WRITE_UNIT_BYTES: u64 = 1024;
const READ_UNIT_BYTES: u64 = 4096;

/// A global secondary index, as far as billing cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRule {
    /// Its key attributes: an item is in the index when it has all of them.
    pub keys: Vec<String>,
    /// The non-key attributes it projects; `None` for all of them.
    pub projected: Option<Vec<String>>,
}

impl IndexRule {
    /// An index projecting everything, keyed on `keys`.
    pub fn all(keys: &[&str]) -> IndexRule {
        IndexRule {
            keys: keys.iter().map(ToString::to_string).collect(),
            projected: None,
        }
    }

    fn holds(&self, item: &Item) -> bool {
        self.keys.iter().all(|key| item.contains_key(key))
    }

    fn projects(&self, attribute: &str) -> bool {
        self.projected
            .as_ref()
            .is_none_or(|projected| projected.iter().any(|p| p == attribute))
    }
}

/// Tables with global secondary indexes: table name → its indexes.
pub type IndexedTables = HashMap<String, Vec<IndexRule>>;

/// How a request ended, as far as billing cares.
pub(crate) enum Outcome<'a> {
    Done(&'a Output),
    /// A condition (or a transaction's) failed: the writes were billed, the indexes untouched.
    ConditionFailed,
    /// Throttled, invalid, or lost on the way: not billed.
    Failed,
}

impl<'a> Outcome<'a> {
    pub(crate) fn of(result: Option<Result<&'a Output, &OrchestratorError<Error>>>) -> Outcome<'a> {
        match result {
            Some(Ok(output)) => Outcome::Done(output),
            Some(Err(err)) if err.as_operation_error().is_some_and(condition_failed) => {
                Outcome::ConditionFailed
            }
            _ => Outcome::Failed,
        }
    }
}

fn condition_failed(error: &Error) -> bool {
    error
        .downcast_ref::<PutItemError>()
        .is_some_and(PutItemError::is_conditional_check_failed_exception)
        || error
            .downcast_ref::<UpdateItemError>()
            .is_some_and(UpdateItemError::is_conditional_check_failed_exception)
        || error
            .downcast_ref::<DeleteItemError>()
            .is_some_and(DeleteItemError::is_conditional_check_failed_exception)
        || error
            .downcast_ref::<TransactWriteItemsError>()
            .is_some_and(TransactWriteItemsError::is_transaction_canceled_exception)
}

/// What is known once the request is built: its writes, and how its reads will be billed.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestCost {
    writes: Vec<Write>,
    read: ReadRule,
}

#[derive(Debug, Clone)]
struct Write {
    size: u64,
    /// 2 in a transaction.
    factor: f64,
    /// Index entries written, known from the request alone.
    indexes: u32,
    refine: Refine,
}

/// Where the answer tells the real size of a write, or which index entries it wrote.
#[derive(Debug, Clone)]
enum Refine {
    None,
    /// `UpdateItem` returning the item (`ALL_NEW`/`ALL_OLD`): the indexes and which
    /// attributes the update expression writes.
    Updated {
        rules: Vec<IndexRule>,
        written: Written,
        returns_old: bool,
    },
    /// `DeleteItem`: its indexes; with `ALL_OLD`, no attributes back means there was no item
    /// (and no index entry to delete). `by_key`: the index entries counted when the item is
    /// not returned (those of the indexes keyed on the table's own key, which every item is in).
    Deleted {
        rules: Vec<IndexRule>,
        returns_old: bool,
        by_key: u32,
    },
}

/// The attributes an update expression writes: those it sets (`SET`, `ADD`, `DELETE`) and
/// those it removes (`REMOVE`), `#names` resolved, paths cut to their first name
/// (`SET a.b = :v` writes `a`). Names inside a value (`if_not_exists(c, :z)`) count as set:
/// from above, but only for `SET a = if_not_exists(a, …)`, where it is the same attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Written {
    set: Vec<String>,
    removed: Vec<String>,
}

impl Written {
    fn of(expression: &str, names: Option<&HashMap<String, String>>) -> Written {
        let mut written = Written::default();
        let mut removing = false;
        let tokens = expression.split(|c: char| {
            !(c.is_ascii_alphanumeric() || matches!(c, '_' | '#' | '.' | '-' | ':'))
        });
        for token in tokens.filter(|t| !t.is_empty() && !t.starts_with(':')) {
            match token.to_ascii_uppercase().as_str() {
                "SET" | "ADD" | "DELETE" => removing = false,
                "REMOVE" => removing = true,
                _ => {
                    let Some(first) = token.split('.').next() else {
                        continue;
                    };
                    let name = if first.starts_with('#') {
                        match names.and_then(|names| names.get(first)) {
                            Some(name) => name.clone(),
                            None => continue,
                        }
                    } else {
                        first.to_string()
                    };
                    if removing {
                        written.removed.push(name);
                    } else {
                        written.set.push(name);
                    }
                }
            }
        }
        written
    }

    fn sets(&self, attribute: &str) -> bool {
        self.set.iter().any(|a| a == attribute)
    }

    fn removes(&self, attribute: &str) -> bool {
        self.removed.iter().any(|a| a == attribute)
    }
}

/// The index entries an update writes to `rule`, knowing the item before it (`ALL_OLD`) or
/// not: 2 when it moves the index's key (the old entry deleted, the new one put), 1 when the
/// item enters the index (its key set), leaves it (removed) or changes an attribute it
/// projects, else none. Without the item before, a key change counts 1 and a projected
/// change counts only for an index projecting everything: from below.
fn update_index_writes(rule: &IndexRule, written: &Written, before: Option<&Item>) -> u32 {
    let sets_key = rule.keys.iter().any(|key| written.sets(key));
    let removes_key = rule.keys.iter().any(|key| written.removes(key));
    let projected = |attribute: &String| rule.projects(attribute);
    let touches_projection =
        written.set.iter().any(projected) || written.removed.iter().any(projected);
    match before {
        Some(old) => {
            let was_in = rule.holds(old);
            match (sets_key, removes_key) {
                (true, _) if was_in => 2,
                (true, _) => 1,
                (false, true) => u32::from(was_in),
                (false, false) => u32::from(was_in && touches_projection),
            }
        }
        None if sets_key || removes_key => 1,
        None => u32::from(touches_projection && rule.projected.is_none()),
    }
}

#[derive(Debug, Clone, Default)]
enum ReadRule {
    #[default]
    None,
    /// `GetItem`: the item, rounded.
    Item { strong: bool },
    /// `BatchGetItem`: each requested item rounded; a key not found still costs the minimum;
    /// unprocessed keys cost nothing (they come back in a later request).
    Items {
        tables: HashMap<String, (usize, bool)>,
    },
    /// `TransactGetItems`: each item rounded, strongly consistent, twice.
    Transactional,
    /// `Query`/`Scan`: the page's total, rounded.
    Page { strong: bool },
}

impl RequestCost {
    /// The cost of the request in `input`, if it is a DynamoDB data operation.
    pub(crate) fn of_input(input: &Input, indexed: &IndexedTables) -> RequestCost {
        let rules = |table: &str| indexed.get(table).cloned().unwrap_or_default();
        // A put of a known item: the indexes whose keys it has.
        let put = |table: &str, item: &Item, factor: f64| Write {
            size: item_size(item),
            factor,
            indexes: rules(table).iter().filter(|r| r.holds(item)).count() as u32,
            refine: Refine::None,
        };
        // A delete by key without the item back: the indexes keyed on the table's own key
        // (every item is in those), from below.
        let delete_by_key = |table: &str, key: &Item, factor: f64| Write {
            size: item_size(key),
            factor,
            indexes: rules(table).iter().filter(|r| r.holds(key)).count() as u32,
            refine: Refine::None,
        };
        let writing = |writes: Vec<Write>| RequestCost {
            writes,
            read: ReadRule::None,
        };
        let reading = |read: ReadRule| RequestCost {
            writes: Vec::new(),
            read,
        };
        let empty = Item::new();
        if let Some(request) = input.downcast_ref::<PutItemInput>() {
            let table = request.table_name().unwrap_or_default();
            return writing(vec![put(table, request.item().unwrap_or(&empty), 1.0)]);
        }
        if let Some(update) = input.downcast_ref::<UpdateItemInput>() {
            let table = update.table_name().unwrap_or_default();
            let written = Written::of(
                update.update_expression().unwrap_or_default(),
                update.expression_attribute_names(),
            );
            return writing(vec![Write {
                size: update_size(update.key(), update.expression_attribute_values()),
                factor: 1.0,
                indexes: 0,
                refine: Refine::Updated {
                    rules: rules(table),
                    written,
                    returns_old: update.return_values() == Some(&ReturnValue::AllOld),
                },
            }]);
        }
        if let Some(delete) = input.downcast_ref::<DeleteItemInput>() {
            let table = delete.table_name().unwrap_or_default();
            let by_key = delete_by_key(table, delete.key().unwrap_or(&empty), 1.0);
            return writing(vec![Write {
                refine: Refine::Deleted {
                    rules: rules(table),
                    returns_old: delete.return_values() == Some(&ReturnValue::AllOld),
                    by_key: by_key.indexes,
                },
                indexes: 0,
                ..by_key
            }]);
        }
        if let Some(batch) = input.downcast_ref::<BatchWriteItemInput>() {
            let mut writes = Vec::new();
            for (table, requests) in batch.request_items().into_iter().flatten() {
                for request in requests {
                    match (request.put_request(), request.delete_request()) {
                        (Some(request), _) => writes.push(put(table, request.item(), 1.0)),
                        (None, Some(request)) => {
                            writes.push(delete_by_key(table, request.key(), 1.0));
                        }
                        (None, None) => {}
                    }
                }
            }
            return writing(writes);
        }
        if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
            let mut writes = Vec::new();
            for item in transaction.transact_items() {
                if let Some(request) = item.put() {
                    writes.push(put(request.table_name(), request.item(), 2.0));
                } else if let Some(update) = item.update() {
                    let written = Written::of(
                        update.update_expression(),
                        update.expression_attribute_names(),
                    );
                    let indexes = rules(update.table_name())
                        .iter()
                        .map(|rule| update_index_writes(rule, &written, None))
                        .sum();
                    writes.push(Write {
                        size: update_size(Some(update.key()), update.expression_attribute_values()),
                        factor: 2.0,
                        indexes,
                        refine: Refine::None,
                    });
                } else if let Some(delete) = item.delete() {
                    writes.push(delete_by_key(delete.table_name(), delete.key(), 2.0));
                } else if let Some(check) = item.condition_check() {
                    // A condition check writes nothing, so no index either.
                    writes.push(Write {
                        size: item_size(check.key()),
                        factor: 2.0,
                        indexes: 0,
                        refine: Refine::None,
                    });
                }
            }
            return writing(writes);
        }
        if let Some(get) = input.downcast_ref::<GetItemInput>() {
            return reading(ReadRule::Item {
                strong: get.consistent_read() == Some(true),
            });
        }
        if let Some(batch) = input.downcast_ref::<BatchGetItemInput>() {
            let tables = batch
                .request_items()
                .into_iter()
                .flatten()
                .map(|(table, keys)| {
                    (
                        table.clone(),
                        (keys.keys().len(), keys.consistent_read() == Some(true)),
                    )
                })
                .collect();
            return reading(ReadRule::Items { tables });
        }
        if input.downcast_ref::<TransactGetItemsInput>().is_some() {
            return reading(ReadRule::Transactional);
        }
        if let Some(query) = input.downcast_ref::<QueryInput>() {
            let strong = query.index_name().is_none() && query.consistent_read() == Some(true);
            return reading(ReadRule::Page { strong });
        }
        if let Some(scan) = input.downcast_ref::<ScanInput>() {
            let strong = scan.index_name().is_none() && scan.consistent_read() == Some(true);
            return reading(ReadRule::Page { strong });
        }
        RequestCost::default()
    }

    /// The write units billed for `outcome`.
    pub(crate) fn write_units(&self, outcome: &Outcome<'_>) -> f64 {
        self.writes
            .iter()
            .map(|write| match outcome {
                Outcome::Failed => 0.0,
                Outcome::ConditionFailed => write.factor * write_units(write.size),
                Outcome::Done(output) => {
                    let (size, indexes) = write.refined(output);
                    write.factor * write_units(size) * f64::from(1 + indexes)
                }
            })
            .sum()
    }

    /// The read units of the answer (none for a failed request).
    pub(crate) fn read_units(&self, outcome: &Outcome<'_>) -> f64 {
        let Outcome::Done(output) = outcome else {
            return 0.0;
        };
        match &self.read {
            ReadRule::None => 0.0,
            ReadRule::Item { strong } => {
                let size = output
                    .downcast_ref::<GetItemOutput>()
                    .and_then(GetItemOutput::item)
                    .map_or(0, item_size);
                read_units(size, *strong)
            }
            ReadRule::Items { tables } => {
                let Some(out) = output.downcast_ref::<BatchGetItemOutput>() else {
                    return 0.0;
                };
                tables
                    .iter()
                    .map(|(table, &(requested, strong))| {
                        let found: Vec<u64> = out
                            .responses()
                            .and_then(|r| r.get(table))
                            .into_iter()
                            .flatten()
                            .map(item_size)
                            .collect();
                        let unprocessed = out
                            .unprocessed_keys()
                            .and_then(|u| u.get(table))
                            .map_or(0, |keys| keys.keys().len());
                        let missing = requested.saturating_sub(found.len() + unprocessed);
                        found
                            .iter()
                            .map(|&size| read_units(size, strong))
                            .sum::<f64>()
                            + missing as f64 * read_units(0, strong)
                    })
                    .sum()
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
                read_units(total, *strong)
            }
        }
    }
}

impl Write {
    /// The billed size and index writes, now that the answer is known.
    fn refined(&self, output: &Output) -> (u64, u32) {
        match &self.refine {
            Refine::None => (self.size, self.indexes),
            Refine::Updated {
                rules,
                written,
                returns_old,
            } => {
                let returned = output
                    .downcast_ref::<UpdateItemOutput>()
                    .and_then(UpdateItemOutput::attributes)
                    .filter(|attributes| !attributes.is_empty());
                // `ALL_OLD` with nothing back: there was no item before.
                let empty = Item::new();
                let before = match (returns_old, returned) {
                    (true, Some(old)) => Some(old),
                    (true, None) => Some(&empty),
                    (false, _) => None,
                };
                let indexes = rules
                    .iter()
                    .map(|rule| update_index_writes(rule, written, before))
                    .sum();
                (self.size.max(returned.map_or(0, item_size)), indexes)
            }
            Refine::Deleted {
                rules,
                returns_old,
                by_key,
            } => {
                let old = output
                    .downcast_ref::<DeleteItemOutput>()
                    .and_then(DeleteItemOutput::attributes)
                    .filter(|attributes| !attributes.is_empty());
                match old {
                    Some(old) => {
                        let indexes = rules.iter().filter(|r| r.holds(old)).count() as u32;
                        (item_size(old), indexes)
                    }
                    None if *returns_old => (self.size, 0),
                    None => (self.size, *by_key),
                }
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
    use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
    use aws_sdk_dynamodb::types::{KeysAndAttributes, Put, TransactWriteItem, Update};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

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

    fn done(output: impl std::fmt::Debug + Send + Sync + 'static) -> Output {
        Output::erase(output)
    }

    #[test]
    fn writes_round_up_per_kilobyte_and_count_indexes() -> TestResult {
        let none = IndexedTables::new();
        let ok = done(PutItemOutput::builder().build());
        let small = PutItemInput::builder()
            .table_name("t")
            .set_item(Some(item(10)))
            .build()?;
        assert_eq!(cost(small, &none).write_units(&Outcome::Done(&ok)), 1.0);
        // 2 + 1 + 4 + 1,100 bytes: two units.
        let large = PutItemInput::builder()
            .table_name("t")
            .set_item(Some(item(1100)))
            .build()?;
        assert_eq!(
            cost(large.clone(), &none).write_units(&Outcome::Done(&ok)),
            2.0
        );
        let indexed = IndexedTables::from([("t".to_string(), vec![IndexRule::all(&["pk"])])]);
        let large = cost(large, &indexed);
        assert_eq!(large.write_units(&Outcome::Done(&ok)), 4.0);
        // A failed condition is billed for the table only; a throttled request not at all.
        assert_eq!(large.write_units(&Outcome::ConditionFailed), 2.0);
        assert_eq!(large.write_units(&Outcome::Failed), 0.0);
        Ok(())
    }

    #[test]
    fn transactions_cost_twice_per_item() -> TestResult {
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
        let ok = done(TransactWriteItemsOutput::builder().build());
        let indexed = IndexedTables::from([("h".to_string(), vec![IndexRule::all(&["pk"])])]);
        let transaction = cost(input, &indexed);
        assert_eq!(transaction.write_units(&Outcome::Done(&ok)), 8.0);
        assert_eq!(transaction.write_units(&Outcome::ConditionFailed), 6.0);
        Ok(())
    }

    #[test]
    fn a_delete_of_nothing_writes_no_index_and_updates_bill_the_larger_item() -> TestResult {
        let indexed = IndexedTables::from([("t".to_string(), vec![IndexRule::all(&["pk"])])]);
        let delete = DeleteItemInput::builder()
            .table_name("t")
            .set_key(Some(item(0)))
            .return_values(ReturnValue::AllOld)
            .build()?;
        let delete = cost(delete, &indexed);
        let absent = done(DeleteItemOutput::builder().build());
        assert_eq!(delete.write_units(&Outcome::Done(&absent)), 1.0);
        let present = done(
            DeleteItemOutput::builder()
                .set_attributes(Some(item(1100)))
                .build(),
        );
        assert_eq!(delete.write_units(&Outcome::Done(&present)), 4.0);

        let update = UpdateItemInput::builder()
            .table_name("u")
            .set_key(Some(item(0)))
            .update_expression("SET n = :n")
            .expression_attribute_values(":n", AttributeValue::N("7".into()))
            .return_values(ReturnValue::AllNew)
            .build()?;
        let update = cost(update, &IndexedTables::new());
        let after = done(
            UpdateItemOutput::builder()
                .set_attributes(Some(item(2100)))
                .build(),
        );
        assert_eq!(update.write_units(&Outcome::Done(&after)), 3.0);
        Ok(())
    }

    /// A sparse index keyed on `tick` (only some items have it) projecting `extra`.
    fn sparse() -> IndexedTables {
        IndexedTables::from([(
            "m".to_string(),
            vec![
                IndexRule::all(&["pk"]),
                IndexRule {
                    keys: vec!["pk".into(), "tick".into()],
                    projected: Some(vec!["extra".into()]),
                },
            ],
        )])
    }

    fn with(attributes: &[(&str, &str)]) -> Item {
        attributes
            .iter()
            .map(|(name, n)| (name.to_string(), AttributeValue::N(n.to_string())))
            .chain([("pk".to_string(), AttributeValue::S("c".into()))])
            .collect()
    }

    #[test]
    fn a_sparse_index_is_written_only_for_the_items_and_attributes_it_holds() -> TestResult {
        let ok = done(PutItemOutput::builder().build());
        let put = |item: Item| -> Result<f64, Box<dyn std::error::Error>> {
            let input = PutItemInput::builder()
                .table_name("m")
                .set_item(Some(item))
                .build()?;
            Ok(cost(input, &sparse()).write_units(&Outcome::Done(&ok)))
        };
        // Table + the full index; + the sparse one when the item has its key.
        assert_eq!(put(with(&[("n", "1")]))?, 2.0);
        assert_eq!(put(with(&[("tick", "1")]))?, 3.0);

        let update = |expression: &str, old: Item| -> Result<f64, Box<dyn std::error::Error>> {
            let input = UpdateItemInput::builder()
                .table_name("m")
                .set_key(Some(with(&[])))
                .update_expression(expression)
                .expression_attribute_names("#t", "tick")
                .return_values(ReturnValue::AllOld)
                .build()?;
            let answer = done(
                UpdateItemOutput::builder()
                    .set_attributes(Some(old))
                    .build(),
            );
            Ok(cost(input, &sparse()).write_units(&Outcome::Done(&answer)))
        };
        let member = with(&[("tick", "3"), ("extra", "3"), ("n", "3")]);
        // A moved key: the old entry deleted and the new one put.
        assert_eq!(update("SET #t = :s, n = :s", member.clone())?, 4.0);
        // A projected attribute: the entry rewritten once.
        assert_eq!(update("SET extra = :s", member.clone())?, 3.0);
        // Neither: the sparse index is untouched.
        assert_eq!(update("SET n = :s", member.clone())?, 2.0);
        // The key added to an item outside the index, or removed from one inside: one entry.
        assert_eq!(update("SET #t = :s", with(&[("n", "1")]))?, 3.0);
        assert_eq!(update("REMOVE #t, extra", member)?, 3.0);
        Ok(())
    }

    #[test]
    fn update_expressions_name_the_attributes_they_set_and_remove() {
        let names = HashMap::from([("#t".to_string(), "tick_read".to_string())]);
        let written = Written::of(
            "SET #t = :s, a.b = if_not_exists(c, :z) REMOVE d, #t2 ADD e :one",
            Some(&names),
        );
        assert_eq!(
            written,
            Written {
                set: ["tick_read", "a", "if_not_exists", "c", "e"]
                    .map(String::from)
                    .to_vec(),
                removed: vec!["d".to_string()],
            }
        );
    }

    #[test]
    fn reads_round_per_item_or_per_page() -> TestResult {
        let none = IndexedTables::new();
        let get = cost(GetItemInput::builder().table_name("t").build()?, &none);
        let found = done(GetItemOutput::builder().set_item(Some(item(5000))).build());
        assert_eq!(get.read_units(&Outcome::Done(&found)), 1.0); // 2 × 4 KB / 2
        let missing = done(GetItemOutput::builder().build());
        assert_eq!(get.read_units(&Outcome::Done(&missing)), 0.5);
        assert_eq!(get.read_units(&Outcome::Failed), 0.0);

        let query = cost(
            QueryInput::builder()
                .table_name("t")
                .consistent_read(true)
                .build()?,
            &none,
        );
        // Ten items of 1,007 bytes: 10,070 bytes in all, three strongly consistent units.
        let page = done(
            QueryOutput::builder()
                .set_items(Some(vec![item(1000); 10]))
                .build(),
        );
        assert_eq!(query.read_units(&Outcome::Done(&page)), 3.0);
        let index = cost(
            QueryInput::builder()
                .table_name("t")
                .index_name("by-user")
                .consistent_read(true)
                .build()?,
            &none,
        );
        let empty = done(QueryOutput::builder().build());
        assert_eq!(index.read_units(&Outcome::Done(&empty)), 0.5);
        Ok(())
    }

    #[test]
    fn batch_gets_bill_found_and_missing_keys_but_not_unprocessed_ones() -> TestResult {
        let keys = |n: usize, strong: bool| {
            KeysAndAttributes::builder()
                .set_keys(Some(vec![item(0); n]))
                .consistent_read(strong)
                .build()
        };
        let input = BatchGetItemInput::builder()
            .request_items("strong", keys(4, true)?)
            .request_items("eventual", keys(2, false)?)
            .build()?;
        let batch = cost(input, &IndexedTables::new());
        let output = done(
            BatchGetItemOutput::builder()
                .responses("strong", vec![item(5000)])
                .responses("eventual", vec![item(10)])
                .unprocessed_keys("strong", keys(2, true)?)
                .build(),
        );
        // strong: one 2-unit item, one missing key (1), two unprocessed (0);
        // eventual: one found and one missing key, half a unit each.
        assert_eq!(
            batch.read_units(&Outcome::Done(&output)),
            2.0 + 1.0 + 0.5 + 0.5
        );
        Ok(())
    }
}
