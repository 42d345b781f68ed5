//! DynamoDB item sizes by AWS's published rules ("Item sizes and formats" in the DynamoDB
//! developer guide): what capacity units are computed from. moto's `ConsumedCapacity` is
//! hard-coded, so the bench never reads it; it sizes the items it actually sent and received.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

/// The size of an item: for each attribute, its name's UTF-8 length plus its value's size.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

/// The size of one value:
/// - strings and binaries: their length in bytes;
/// - numbers: one byte per two significant digits, plus one (leading and trailing zeros are
///   not stored);
/// - booleans and null: one byte;
/// - lists and maps: 3 bytes, plus each element's size, plus one byte per element (a map's
///   element also counts its name);
/// - sets: the sum of their elements.
pub fn value_size(value: &AttributeValue) -> u64 {
    match value {
        AttributeValue::S(s) => s.len() as u64,
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len() as u64,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(set) => set.iter().map(|s| s.len() as u64).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len() as u64).sum(),
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<u64>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(name, v)| 1 + name.len() as u64 + value_size(v))
                .sum::<u64>()
        }
        // A type this SDK version does not know: count nothing rather than guess.
        _ => 0,
    }
}

fn number_size(number: &str) -> u64 {
    let (mantissa, _exponent) = number
        .split_once(['e', 'E'])
        .map_or((number, ""), |(m, e)| (m, e));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .len()
        .max(1);
    significant.div_ceil(2) as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;

    fn item(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn strings_and_binaries_count_bytes_and_names() {
        let it = item(&[
            ("pk", AttributeValue::S("dm:alice:bob".into())),
            ("body", AttributeValue::S("héllo".into())),
            ("raw", AttributeValue::B(Blob::new(vec![0u8; 10]))),
        ]);
        // 2 + 12, 4 + 6 (é is two bytes), 3 + 10
        assert_eq!(item_size(&it), 14 + 10 + 13);
    }

    #[test]
    fn numbers_count_significant_digits() {
        assert_eq!(number_size("0"), 2);
        assert_eq!(number_size("7"), 2);
        assert_eq!(number_size("12"), 2);
        assert_eq!(number_size("123"), 3);
        assert_eq!(number_size("1000"), 2);
        assert_eq!(number_size("-0.00123"), 3);
        assert_eq!(number_size("1732000000000"), 3); // "1732": trailing zeros are not stored
        assert_eq!(number_size("1764000000123"), 8);
        assert_eq!(number_size("1.5E+3"), 2);
    }

    #[test]
    fn documents_add_overhead_per_container_and_element() {
        let list = AttributeValue::L(vec![
            AttributeValue::S("ab".into()),
            AttributeValue::Bool(true),
        ]);
        assert_eq!(value_size(&list), 3 + (1 + 2) + (1 + 1));
        let map = AttributeValue::M(item(&[("k", AttributeValue::S("v".into()))]));
        assert_eq!(value_size(&map), 3 + 1 + 1 + 1);
        assert_eq!(value_size(&AttributeValue::M(HashMap::new())), 3);
        assert_eq!(value_size(&AttributeValue::Null(true)), 1);
        assert_eq!(
            value_size(&AttributeValue::Ss(vec!["a".into(), "bcd".into()])),
            4
        );
    }
}
