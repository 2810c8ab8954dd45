//! `--set KEY=VALUE`: one-run changes to any key by dotted path.

use std::str::FromStr;

use toml::{Table, Value};

/// One override: a dotted key path (array elements by index, e.g.
/// `sip.listeners.0.address`) and a value written as TOML; a value that is
/// not valid TOML is taken as a string, so `log.level=debug` works unquoted.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    key: String,
    value: Value,
}

impl FromStr for Override {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (key, raw) = s.split_once('=').ok_or_else(|| format!("`{s}` is not KEY=VALUE"))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(format!("`{key}` is not a dotted key path like `sip.listeners.0.address`"));
        }
        let value = toml::from_str::<Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| Value::String(raw.to_owned()));
        Ok(Override { key: key.to_owned(), value })
    }
}

impl Override {
    /// The dotted key path.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Sets the value in `root`, creating missing tables on the way.
    pub(crate) fn apply(&self, root: &mut Table) -> Result<(), String> {
        let segments: Vec<&str> = self.key.split('.').collect();
        let (last, parents) = segments.split_last().expect("key has at least one segment");
        let mut node = Value::Table(std::mem::take(root));
        let result = set_path(&mut node, parents, last, self.value.clone());
        if let Value::Table(table) = node {
            *root = table;
        }
        result
    }
}

fn set_path(node: &mut Value, parents: &[&str], last: &str, value: Value) -> Result<(), String> {
    let mut current = node;
    for segment in parents {
        current = child(current, segment, true)?;
    }
    match current {
        Value::Table(table) => {
            table.insert((*last).to_owned(), value);
            Ok(())
        }
        Value::Array(items) => {
            let slot = index(items, last)?;
            if slot == items.len() {
                items.push(value);
            } else {
                items[slot] = value;
            }
            Ok(())
        }
        other => Err(format!("`{last}` is inside a {}, not a table", other.type_str())),
    }
}

fn child<'a>(node: &'a mut Value, segment: &str, create: bool) -> Result<&'a mut Value, String> {
    match node {
        Value::Table(table) => {
            if create && !table.contains_key(segment) {
                table.insert(segment.to_owned(), Value::Table(Table::new()));
            }
            table.get_mut(segment).ok_or_else(|| format!("no key `{segment}`"))
        }
        Value::Array(items) => {
            let slot = index(items, segment)?;
            if slot == items.len() {
                items.push(Value::Table(Table::new()));
            }
            Ok(&mut items[slot])
        }
        other => Err(format!("`{segment}` is inside a {}, not a table", other.type_str())),
    }
}

fn index(items: &[Value], segment: &str) -> Result<usize, String> {
    let slot: usize = segment.parse().map_err(|_| format!("`{segment}` must be an array index (0, 1, …)"))?;
    if slot > items.len() {
        return Err(format!("index {slot} is past the end of an array of {}", items.len()));
    }
    Ok(slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn values_are_toml_or_plain_strings() {
        let o: Override = "log.level=debug".parse().unwrap();
        assert_eq!(o.value, Value::String("debug".into()));
        let o: Override = "appliance.shutdown_grace_seconds=3".parse().unwrap();
        assert_eq!(o.value, Value::Integer(3));
        let o: Override = r#"media.rtp_ports=["30000-30099"]"#.parse().unwrap();
        assert!(matches!(o.value, Value::Array(_)));
    }

    #[test]
    fn malformed_overrides_are_refused() {
        assert!("log.level".parse::<Override>().is_err());
        assert!("=x".parse::<Override>().is_err());
        assert!("a..b=1".parse::<Override>().is_err());
    }

    #[test]
    fn nested_tables_and_array_elements_are_set() {
        let mut root = table("[[sip.listeners]]\ntransport = \"udp\"\naddress = \"127.0.0.1:5060\"\n");
        "sip.listeners.0.address=127.0.0.1:5070".parse::<Override>().unwrap().apply(&mut root).unwrap();
        "log.level=warn".parse::<Override>().unwrap().apply(&mut root).unwrap();
        let listener = &root["sip"]["listeners"][0];
        assert_eq!(listener["address"].as_str(), Some("127.0.0.1:5070"));
        assert_eq!(root["log"]["level"].as_str(), Some("warn"));
    }

    #[test]
    fn bad_paths_say_why() {
        let mut root = table("[sip]\nlisteners = []\n");
        let err = "sip.listeners.4.address=x".parse::<Override>().unwrap().apply(&mut root).unwrap_err();
        assert!(err.contains("past the end"), "{err}");
        let mut root = table("[log]\nlevel = \"info\"\n");
        let err = "log.level.x=1".parse::<Override>().unwrap().apply(&mut root).unwrap_err();
        assert!(err.contains("not a table"), "{err}");
    }
}
