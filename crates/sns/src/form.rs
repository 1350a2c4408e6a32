//! The query protocol's request parameters (pure): flat `key=value` pairs, with lists
//! spelled `Name.member.N` and maps spelled `Name.entry.N.key` / `Name.entry.N.value`.

use std::collections::BTreeMap;

/// The decoded parameters of one request (or of one list member).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The parameters under `prefix.`, with the prefix taken off, in wire order.
    fn under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.pairs.iter().filter_map(move |(k, v)| {
            let rest = k.strip_prefix(prefix)?.strip_prefix('.')?;
            Some((rest, v.as_str()))
        })
    }

    /// The numbered groups `prefix.<kind>.N.*` as sub-forms, ordered by N. Groups whose
    /// number does not parse are left out.
    fn groups(&self, prefix: &str, kind: &str) -> Vec<(u32, Form)> {
        let mut by_n: BTreeMap<u32, Vec<(String, String)>> = BTreeMap::new();
        for (rest, v) in self.under(prefix) {
            let Some(rest) = rest.strip_prefix(kind).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let (n, tail) = rest.split_once('.').unwrap_or((rest, ""));
            let Ok(n) = n.parse::<u32>() else {
                continue;
            };
            by_n.entry(n)
                .or_default()
                .push((tail.to_string(), v.to_string()));
        }
        by_n.into_iter().map(|(n, p)| (n, Form::new(p))).collect()
    }

    /// A list of strings: `prefix.member.N`.
    pub fn list(&self, prefix: &str) -> Vec<String> {
        self.groups(prefix, "member")
            .into_iter()
            .filter_map(|(_, f)| f.get("").map(str::to_string))
            .collect()
    }

    /// A list of structures: `prefix.member.N.Field`.
    pub fn members(&self, prefix: &str) -> Vec<Form> {
        self.groups(prefix, "member")
            .into_iter()
            .map(|(_, f)| f)
            .collect()
    }

    /// Map entries: `prefix.entry.N.<key_name>` and `prefix.entry.N.<value_name>.*`; the
    /// value is the entry's sub-form under `value_name`.
    pub fn entries(&self, prefix: &str, key_name: &str, value_name: &str) -> Vec<(String, Form)> {
        self.groups(prefix, "entry")
            .into_iter()
            .filter_map(|(_, f)| {
                let key = f.get(key_name)?.to_string();
                let value = Form::new(
                    f.pairs
                        .iter()
                        .filter_map(|(k, v)| {
                            if k == value_name {
                                Some((String::new(), v.clone()))
                            } else {
                                let rest = k.strip_prefix(value_name)?.strip_prefix('.')?;
                                Some((rest.to_string(), v.clone()))
                            }
                        })
                        .collect(),
                );
                Some((key, value))
            })
            .collect()
    }

    /// A map of strings: `prefix.entry.N.key` / `prefix.entry.N.value`.
    pub fn string_map(&self, prefix: &str) -> BTreeMap<String, String> {
        self.entries(prefix, "key", "value")
            .into_iter()
            .map(|(k, v)| (k, v.get("").unwrap_or_default().to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Form {
        Form::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn lists_maps_and_members() {
        let f = form(&[
            ("Action", "CreateTopic"),
            ("TagKeys.member.2", "b"),
            ("TagKeys.member.1", "a"),
            ("TagKeys.member.x", "ignored"),
            ("Attributes.entry.1.key", "DisplayName"),
            ("Attributes.entry.1.value", "Hello"),
            ("Attributes.entry.2.key", "FifoTopic"),
            ("Attributes.entry.2.value", "true"),
            ("Tags.member.1.Key", "k"),
            ("Tags.member.1.Value", "v"),
            ("MessageAttributes.entry.1.Name", "color"),
            ("MessageAttributes.entry.1.Value.DataType", "String"),
            ("MessageAttributes.entry.1.Value.StringValue", "blue"),
            ("Entries.member.1.Id", "one"),
            ("Entries.member.1.MessageAttributes.entry.1.Name", "n"),
            (
                "Entries.member.1.MessageAttributes.entry.1.Value.DataType",
                "Number",
            ),
            (
                "Entries.member.1.MessageAttributes.entry.1.Value.StringValue",
                "3",
            ),
        ]);
        assert_eq!(f.get("Action"), Some("CreateTopic"));
        assert_eq!(f.list("TagKeys"), ["a", "b"]);
        let attrs = f.string_map("Attributes");
        assert_eq!(attrs["DisplayName"], "Hello");
        assert_eq!(attrs["FifoTopic"], "true");
        let tags = f.members("Tags");
        assert_eq!(tags.len(), 1);
        assert_eq!(
            (tags[0].get("Key"), tags[0].get("Value")),
            (Some("k"), Some("v"))
        );
        let ma = f.entries("MessageAttributes", "Name", "Value");
        assert_eq!(ma[0].0, "color");
        assert_eq!(ma[0].1.get("DataType"), Some("String"));
        assert_eq!(ma[0].1.get("StringValue"), Some("blue"));
        let entries = f.members("Entries");
        assert_eq!(entries[0].get("Id"), Some("one"));
        let nested = entries[0].entries("MessageAttributes", "Name", "Value");
        assert_eq!(nested[0].1.get("StringValue"), Some("3"));
        assert!(f.list("Missing").is_empty());
    }
}
