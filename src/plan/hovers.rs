//! Where descriptions sit in the generated schema, so that an editor's hover on a key shows
//! that key's own words. Runs once over the whole generated schema (definitions included);
//! [`doc`] reads a node's text back for the reference and for diagnostics' hints.
//!
//! yaml-language-server (VS Code's YAML extension) hovers a key by collecting every schema
//! that matched its value and showing the first description among them; subschemas reached
//! through `$ref`, `allOf`, `anyOf` and `oneOf` are collected before the schema that holds
//! them, so a type's description (`A length of time…`) hides the property's
//! (`Time allowed for each try`). Hence: of all the schemas that apply to one value, only the
//! outermost (a property, an item, the root) carries `description`; the others keep their text
//! as `$comment`, which draft-07 reserves for schema readers and editors do not show.

use serde_json::{Map, Value};

/// A node's documentation: its `description`, or the `$comment` [`layout`] moved it to.
pub(crate) fn doc(node: &Value) -> Option<&str> {
    node.get("description")
        .or_else(|| node.get("$comment"))
        .and_then(Value::as_str)
}

/// Moves every description that is not on the outermost schema of its value to `$comment`,
/// and gives an outermost schema without a description of its own the text it would have
/// shown before: its type's (through `$ref`s and optional `anyOf: [T, null]`) or, for the
/// one key of an externally tagged variant (`{ between: … }`), the variant's.
pub(crate) fn layout(root: &mut Value) {
    let source = root.clone();
    visit(root, &source, true, None);
}

fn visit(node: &mut Value, source: &Value, outermost: bool, inherited: Option<String>) {
    let fallback = (outermost && node.get("description").is_none())
        .then(|| inherited.or_else(|| type_doc(source, node)))
        .flatten();
    let Value::Object(map) = node else { return };
    // The one key of a variant is what the variant's text describes.
    let variant = (!outermost).then(|| single_key(map)).flatten().zip(
        map.get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
    );
    if let Some(text) = fallback {
        map.insert("description".to_owned(), text.clone().into());
        map.insert("markdownDescription".to_owned(), text.into());
    } else if !outermost && let Some(text) = map.remove("description") {
        map.remove("markdownDescription");
        map.insert("$comment".to_owned(), text);
    }
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            // Subschemas that apply to the same value as this one.
            "allOf" | "anyOf" | "oneOf" => each(value, |v| visit(v, source, false, None)),
            "not" | "if" | "then" | "else" => visit(value, source, false, None),
            "definitions" => each_value(value, |_, v| visit(v, source, false, None)),
            // Subschemas of other values: each is the outermost schema of its value.
            "properties" => each_value(value, |name, v| {
                let inherited = variant
                    .as_ref()
                    .filter(|(key, _)| key == name)
                    .map(|(_, text)| text.clone());
                visit(v, source, true, inherited);
            }),
            "patternProperties" => each_value(value, |_, v| visit(v, source, true, None)),
            "items" if value.is_array() => each(value, |v| visit(v, source, true, None)),
            "items" | "additionalProperties" | "additionalItems" | "contains" | "propertyNames" => {
                visit(value, source, true, None)
            }
            _ => {}
        }
    }
}

fn each(value: &mut Value, mut f: impl FnMut(&mut Value)) {
    if let Value::Array(items) = value {
        items.iter_mut().for_each(&mut f);
    }
}

fn each_value(value: &mut Value, mut f: impl FnMut(&str, &mut Value)) {
    if let Value::Object(map) = value {
        for (k, v) in map.iter_mut() {
            f(k, v);
        }
    }
}

/// The key of an externally tagged enum variant: an object whose only property is required.
fn single_key(map: &Map<String, Value>) -> Option<String> {
    let properties = map.get("properties")?.as_object()?;
    match map.get("required")?.as_array()?.as_slice() {
        [Value::String(key)] if properties.len() == 1 && properties.contains_key(key) => {
            Some(key.clone())
        }
        _ => None,
    }
}

/// The description of the type a schema stands for: its own, or through a `$ref`, a
/// one-element `allOf` or an optional `anyOf: [T, null]`. Never one alternative among
/// several, which would describe only some of the values. Read in `source`, the schema as
/// generated (the depth bound stops recursive types).
fn type_doc(source: &Value, node: &Value) -> Option<String> {
    let mut node = node;
    for _ in 0..16 {
        if let Some(text) = node.get("description").and_then(Value::as_str) {
            return Some(text.to_owned());
        }
        node = if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            source.pointer(r.strip_prefix('#')?)?
        } else {
            let branches = node
                .get("allOf")
                .or_else(|| node.get("anyOf"))?
                .as_array()?;
            let mut typed = branches
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"));
            match (typed.next(), typed.next()) {
                (Some(only), None) => only,
                _ => return None,
            }
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_type_text_moves_off_the_path_and_onto_keys_without_their_own() {
        let mut schema = json!({
            "description": "root",
            "properties": {
                "timeout": { "description": "own", "anyOf": [{ "$ref": "#/definitions/D" }, { "type": "null" }] },
                "bare": { "$ref": "#/definitions/D" },
                "either": { "anyOf": [{ "$ref": "#/definitions/D" }, { "type": "string" }] },
                "rule": { "oneOf": [{
                    "description": "variant",
                    "type": "object",
                    "properties": { "between": { "$ref": "#/definitions/D" } },
                    "required": ["between"],
                }] },
            },
            "definitions": { "D": { "description": "type", "markdownDescription": "type" } },
        });
        layout(&mut schema);
        let p = &schema["properties"];
        assert_eq!(p["timeout"]["description"], "own");
        assert_eq!(p["bare"]["description"], "type");
        assert_eq!(p["bare"]["markdownDescription"], "type");
        // One alternative's text would describe only some of the values.
        assert!(p["either"].get("description").is_none());
        let variant = &p["rule"]["oneOf"][0];
        assert_eq!(variant["$comment"], "variant");
        assert_eq!(variant["properties"]["between"]["description"], "variant");
        let d = &schema["definitions"]["D"];
        assert_eq!(d, &json!({ "$comment": "type" }));
        assert_eq!(doc(d), Some("type"));
        assert_eq!(schema["description"], "root");
    }
}
