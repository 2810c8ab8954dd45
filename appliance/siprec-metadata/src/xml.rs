//! Small lenient accessors over `roxmltree` nodes.
//!
//! Real SRCs disagree on prefixes (`tns:`, none), namespaces (`...:recording:1`,
//! `...:recording`, `...:siprec`), case (`datamode`, `dataMode`) and
//! separators (`recording_metadata`, `recording-metadata`). Names are therefore
//! compared through [`key`]: local name only, ASCII lower case, without `-`
//! and `_`. Namespaces are ignored on purpose.

use roxmltree::Node;

/// Matching key of a local name: lower case, `-` and `_` removed.
pub(crate) fn key(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, '-' | '_')).map(|c| c.to_ascii_lowercase()).collect()
}

/// Matching key of an element's local name.
pub(crate) fn element_key(node: Node<'_, '_>) -> String {
    key(node.tag_name().name())
}

/// Element children, in document order.
pub(crate) fn elements<'a, 'input>(node: Node<'a, 'input>) -> impl Iterator<Item = Node<'a, 'input>> + use<'a, 'input> {
    node.children().filter(Node::is_element)
}

/// Direct text (text and CDATA children) of an element, trimmed.
pub(crate) fn text(node: Node<'_, '_>) -> String {
    let mut out = String::new();
    for child in node.children().filter(Node::is_text) {
        out.push_str(child.text().unwrap_or(""));
    }
    out.trim().to_owned()
}

/// Direct text, `None` when blank.
pub(crate) fn non_empty_text(node: Node<'_, '_>) -> Option<String> {
    let t = text(node);
    (!t.is_empty()).then_some(t)
}

/// Non-blank text of the first child element whose key is `child_key`.
pub(crate) fn child_text(node: Node<'_, '_>, child_key: &str) -> Option<String> {
    elements(node).find(|c| element_key(*c) == child_key).and_then(non_empty_text)
}

/// Trimmed, non-blank value of the first attribute whose key is `attr_key`.
pub(crate) fn attr(node: Node<'_, '_>, attr_key: &str) -> Option<String> {
    node.attributes().find(|a| key(a.name()) == attr_key).map(|a| a.value().trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case_and_separators() {
        assert_eq!(key("recording_metadata"), "recordingmetadata");
        assert_eq!(key("recording-metadata"), "recordingmetadata");
        assert_eq!(key("dataMode"), "datamode");
        assert_eq!(key("participant_id"), "participantid");
    }

    #[test]
    fn text_joins_text_and_cdata_children() {
        let doc = roxmltree::Document::parse("<a> x<![CDATA[<y>]]><b>z</b> </a>").unwrap();
        let a = doc.root_element();
        assert_eq!(text(a), "x<y>");
        assert_eq!(child_text(a, "b").as_deref(), Some("z"));
        assert_eq!(child_text(a, "c"), None);
    }
}
