//! Loads YAML the way Ansible does: JSON first, then YAML 1.1 (PyYAML's
//! typing: `yes`/`no` are booleans, `0755` is octal, `1_000` is an int),
//! with line numbers in every error.
//!
//! Values are built from yaml-rust2's event stream rather than its `Yaml`
//! tree, because the events keep what the typing rules need: whether a
//! scalar was quoted, its tag, anchors, and the line it started on.
//!
//! Representation choices (where Python values have no JSON equivalent):
//! - timestamps become the string Python's `isoformat()` gives (what
//!   `ansible-inventory` prints);
//! - `.inf`/`.nan` become the strings `Infinity`, `-Infinity`, `NaN`;
//! - integers beyond the 64-bit range stay exact up to 128 bits, then become floats;
//! - `!unsafe` values are loaded as if untagged (ansible-core 2.19 re-resolves
//!   them); jobdeck never templates, so the "unsafe" mark is dropped;
//! - `!vault` values become `{"__ansible_vault": "<ciphertext>"}`, which is
//!   how `ansible-inventory` prints them and cannot be mistaken for a usable
//!   string;
//! - `!!set` becomes a list of its keys, `!!omap`/`!!pairs` lists of
//!   `[key, value]` pairs.

use std::collections::HashMap;
use std::path::Path;

use indexmap::IndexMap;
use indexmap::map::Entry as MapSlot;
use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::InventoryError;
use super::pyliteral::float_repr;

/// Deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 256;

/// Most nodes that aliases may copy in one document; guards against
/// "billion laughs" documents.
const MAX_ALIAS_NODES: usize = 2_000_000;

const YAML_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// Loads one document; `None` for an empty file (or a document that is null,
/// which Python cannot tell apart).
pub fn load(path: &Path, text: &str) -> Result<Option<Value>, InventoryError> {
    Ok(load_document(path, text)?.map(|doc| doc.root.into_value()))
}

/// A loaded document: the value with line numbers, and the warnings Ansible
/// would print (duplicate keys).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub root: Node,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

/// Loads one document keeping the line of every node and mapping key;
/// `None` for an empty or null document.
pub fn load_document(path: &Path, text: &str) -> Result<Option<Document>, InventoryError> {
    // PyYAML drops a leading byte-order mark; yaml-rust2 would keep it in the first key.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc = if let Ok(json) = serde_json::from_str::<Value>(text) {
        match load_json(path, text, json) {
            Some(doc) => doc,
            // `__ansible_unsafe`/`__ansible_vault` with a non-string value is
            // not valid Ansible JSON: Ansible then tries YAML, and so do we.
            None => build(path, text, Mode::Yaml)?,
        }
    } else {
        build(path, text, Mode::Yaml)?
    };
    Ok(doc.filter(|d| !d.root.is_null()))
}

/// A value with the line (1-based) it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: usize,
    pub kind: NodeKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Scalar(Value, ScalarType),
    Seq(Vec<Node>),
    /// Keys are the text `json.dumps` would print for them.
    Map(IndexMap<String, Entry>),
}

/// A mapping value with the line and Python type of its key.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key_line: usize,
    pub key_type: ScalarType,
    pub value: Node,
}

/// The Python type a scalar loads as; inventory errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    Null,
    Bool,
    Int,
    Float,
    Str,
    Timestamp,
    Vault,
}

impl ScalarType {
    pub fn python_name(self) -> &'static str {
        match self {
            ScalarType::Null => "NoneType",
            ScalarType::Bool => "bool",
            ScalarType::Int => "int",
            ScalarType::Float => "float",
            ScalarType::Str => "str",
            ScalarType::Timestamp => "datetime",
            ScalarType::Vault => "EncryptedString",
        }
    }

    /// How Python's `str()` prints a key of this type, given its JSON text.
    pub fn python_str(self, key: &str) -> String {
        match (self, key) {
            (ScalarType::Null, _) => "None".into(),
            (ScalarType::Bool, "true") => "True".into(),
            (ScalarType::Bool, _) => "False".into(),
            (ScalarType::Float, "Infinity") => "inf".into(),
            (ScalarType::Float, "-Infinity") => "-inf".into(),
            (ScalarType::Float, "NaN") => "nan".into(),
            _ => key.into(),
        }
    }

    /// Python truthiness of a key of this type, given its JSON text.
    pub fn key_is_truthy(self, key: &str) -> bool {
        match self {
            ScalarType::Null => false,
            ScalarType::Bool => key == "true",
            ScalarType::Int | ScalarType::Float => !matches!(key, "0" | "0.0" | "-0.0"),
            _ => !key.is_empty(),
        }
    }
}

impl Node {
    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Scalar(Value::Null, _))
    }

    pub fn as_map(&self) -> Option<&IndexMap<String, Entry>> {
        match &self.kind {
            NodeKind::Map(map) => Some(map),
            _ => None,
        }
    }

    /// The string value, if this is a plain string (not a vaulted one).
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(Value::String(s), ScalarType::Str) => Some(s),
            _ => None,
        }
    }

    /// The Python type name, for messages such as `<class 'list'>`.
    pub fn python_type(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar(_, ty) => ty.python_name(),
            NodeKind::Seq(_) => "list",
            NodeKind::Map(_) => "dict",
        }
    }

    /// Python truthiness (`if not data:`).
    pub fn is_truthy(&self) -> bool {
        match &self.kind {
            NodeKind::Scalar(value, ty) => match value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => *ty == ScalarType::Float || !s.is_empty(),
                _ => true,
            },
            NodeKind::Seq(items) => !items.is_empty(),
            NodeKind::Map(map) => !map.is_empty(),
        }
    }

    pub fn into_value(self) -> Value {
        match self.kind {
            NodeKind::Scalar(value, _) => value,
            NodeKind::Seq(items) => Value::Array(items.into_iter().map(Node::into_value).collect()),
            NodeKind::Map(map) => {
                let mut out = Map::with_capacity(map.len());
                for (key, entry) in map {
                    out.insert(key, entry.value.into_value());
                }
                Value::Object(out)
            }
        }
    }

    pub fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Scalar(value, _) => value.clone(),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            NodeKind::Map(map) => {
                let mut out = Map::with_capacity(map.len());
                for (key, entry) in map {
                    out.insert(key.clone(), entry.value.to_value());
                }
                Value::Object(out)
            }
        }
    }

    /// Number of nodes and nesting height (a scalar has height 0).
    fn measure(&self) -> (usize, usize) {
        match &self.kind {
            NodeKind::Scalar(..) => (1, 0),
            NodeKind::Seq(items) => children_measure(items.iter()),
            NodeKind::Map(map) => children_measure(map.values().map(|e| &e.value)),
        }
    }
}

fn children_measure<'a>(children: impl Iterator<Item = &'a Node>) -> (usize, usize) {
    let (mut size, mut height) = (1, 1);
    for child in children {
        let (s, h) = child.measure();
        size += s;
        height = height.max(h + 1);
    }
    (size, height)
}

// ---------------------------------------------------------------------------
// JSON

/// Builds a JSON document's nodes. The YAML event parser is used to learn
/// line numbers (JSON is YAML flow syntax), with JSON's typing for scalars;
/// if that parser disagrees, every node gets line 1.
fn load_json(path: &Path, text: &str, json: Value) -> Option<Option<Document>> {
    let plain = node_from_json(json, 1)?;
    if let Ok(Some(doc)) = build(path, text, Mode::Json)
        && doc.root.to_value() == plain.to_value()
    {
        return Some(Some(doc));
    }
    Some(Some(Document {
        root: plain,
        warnings: Vec::new(),
    }))
}

fn node_from_json(value: Value, line: usize) -> Option<Node> {
    let kind = match value {
        Value::Array(items) => NodeKind::Seq(
            items
                .into_iter()
                .map(|v| node_from_json(v, line))
                .collect::<Option<_>>()?,
        ),
        Value::Object(map) => {
            if let Some(special) =
                ansible_json_marker(map.get("__ansible_unsafe"), map.get("__ansible_vault"))
            {
                return special.map(|kind| Node { line, kind });
            }
            let mut out = IndexMap::with_capacity(map.len());
            for (key, value) in map {
                let value = node_from_json(value, line)?;
                out.insert(
                    key,
                    Entry {
                        key_line: line,
                        key_type: ScalarType::Str,
                        value,
                    },
                );
            }
            NodeKind::Map(out)
        }
        scalar => {
            let scalar = super::canonical_number(scalar);
            let ty = json_scalar_type(&scalar);
            NodeKind::Scalar(scalar, ty)
        }
    };
    Some(Node { line, kind })
}

fn json_scalar_type(value: &Value) -> ScalarType {
    match value {
        Value::Null => ScalarType::Null,
        Value::Bool(_) => ScalarType::Bool,
        Value::Number(n) if n.is_f64() => ScalarType::Float,
        Value::Number(_) => ScalarType::Int,
        _ => ScalarType::Str,
    }
}

/// Ansible's JSON decoder turns `{"__ansible_unsafe": s}` into the string `s`
/// and `{"__ansible_vault": s}` into a vaulted string. `Some(None)` means the
/// marker is there but its value is not a string.
fn ansible_json_marker(
    unsafe_value: Option<&Value>,
    vault_value: Option<&Value>,
) -> Option<Option<NodeKind>> {
    if let Some(value) = unsafe_value {
        return Some(
            value
                .as_str()
                .map(|s| NodeKind::Scalar(Value::String(s.to_string()), ScalarType::Str)),
        );
    }
    vault_value.map(|value| value.as_str().map(vault_scalar))
}

fn vault_scalar(ciphertext: &str) -> NodeKind {
    let mut map = Map::new();
    map.insert(
        "__ansible_vault".into(),
        Value::String(ciphertext.to_string()),
    );
    NodeKind::Scalar(Value::Object(map), ScalarType::Vault)
}

// ---------------------------------------------------------------------------
// Event-driven builder

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Yaml,
    Json,
}

enum BuildError {
    Invalid(InventoryError),
    /// JSON mode only: an Ansible marker object with a non-string value.
    NotAnsibleJson,
}

impl From<BuildError> for InventoryError {
    fn from(e: BuildError) -> Self {
        match e {
            BuildError::Invalid(e) => e,
            BuildError::NotAnsibleJson => InventoryError::msg("invalid Ansible JSON marker object"),
        }
    }
}

fn build(path: &Path, text: &str, mode: Mode) -> Result<Option<Document>, BuildError> {
    if let Some((line, ch)) = first_non_printable(text) {
        return Err(BuildError::Invalid(InventoryError::at(
            path,
            line,
            format!(
                "unacceptable character #x{:04x}: control characters are not allowed in YAML",
                ch as u32
            ),
        )));
    }
    // yaml-rust2 should never panic, but a parser bug must not take the
    // program down with it.
    let outcome = std::panic::catch_unwind(|| Builder::new(path, mode).run(text));
    match outcome {
        Ok(result) => result,
        Err(_) => Err(BuildError::Invalid(InventoryError::file(
            path,
            "the YAML parser failed on this file (internal error); please report it",
        ))),
    }
}

/// PyYAML's reader refuses characters outside YAML's printable set.
fn first_non_printable(text: &str) -> Option<(usize, char)> {
    let printable = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
            || c >= '\u{10000}'
    };
    let (index, ch) = text.char_indices().find(|&(_, c)| !printable(c))?;
    let line = 1 + text.as_bytes()[..index]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    Some((line, ch))
}

/// How a collection under construction will turn out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CollectionTag {
    Plain,
    /// `!!set`: a mapping whose keys become a list.
    Set,
    /// `!!omap` / `!!pairs`: a list of one-entry mappings becomes a list of pairs.
    Pairs,
}

struct PendingKey {
    text: String,
    ty: ScalarType,
    line: usize,
    merge: bool,
}

enum FrameKind {
    Seq(Vec<Node>),
    Map {
        own: Vec<(String, Entry)>,
        /// Entries pulled in by `<<`, in the order they are applied.
        merged: Vec<(String, Entry)>,
        key: Option<PendingKey>,
    },
}

struct Frame {
    line: usize,
    anchor: usize,
    tag: CollectionTag,
    kind: FrameKind,
}

struct Anchored {
    node: Node,
    size: usize,
    height: usize,
}

struct Builder<'a> {
    path: &'a Path,
    mode: Mode,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    root: Option<Node>,
    documents: usize,
    alias_nodes: usize,
    warnings: Vec<Warning>,
}

type Built<T> = Result<T, BuildError>;

impl<'a> Builder<'a> {
    fn new(path: &'a Path, mode: Mode) -> Self {
        Builder {
            path,
            mode,
            stack: Vec::new(),
            anchors: HashMap::new(),
            root: None,
            documents: 0,
            alias_nodes: 0,
            warnings: Vec::new(),
        }
    }

    fn error(&self, line: usize, message: impl Into<String>) -> BuildError {
        BuildError::Invalid(InventoryError::at(self.path, line, message))
    }

    fn run(mut self, text: &str) -> Built<Option<Document>> {
        let mut parser = Parser::new_from_str(text);
        loop {
            let (event, mark) = parser.next_token().map_err(|e| {
                let m = e.marker();
                self.error(
                    m.line().max(1),
                    format!("invalid YAML: {} (column {})", e.info(), m.col() + 1),
                )
            })?;
            match event {
                Event::StreamEnd => break,
                Event::DocumentStart => {
                    self.documents += 1;
                    if self.documents > 1 {
                        return Err(self.error(
                            mark.line(),
                            "expected a single YAML document, but found another document",
                        ));
                    }
                }
                event => self.on_event(event, mark)?,
            }
        }
        Ok(self.root.map(|root| Document {
            root,
            warnings: self.warnings,
        }))
    }

    fn on_event(&mut self, event: Event, mark: Marker) -> Built<()> {
        let line = mark.line().max(1);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                match self.scalar(text, style, tag.as_ref(), line)? {
                    Some(node) => self.finish(node, anchor),
                    // A `<<` merge key: it only marks the key slot.
                    None => Ok(()),
                }
            }
            Event::Alias(id) => self.alias(id, line),
            Event::SequenceStart(anchor, tag) => {
                let tag = self.collection_tag(tag.as_ref(), false, line)?;
                self.open(line, anchor, tag, FrameKind::Seq(Vec::new()))
            }
            Event::MappingStart(anchor, tag) => {
                let tag = self.collection_tag(tag.as_ref(), true, line)?;
                let kind = FrameKind::Map {
                    own: Vec::new(),
                    merged: Vec::new(),
                    key: None,
                };
                self.open(line, anchor, tag, kind)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Err(self.error(line, "unbalanced end of a YAML collection"));
                };
                let anchor = frame.anchor;
                let node = self.close(frame)?;
                self.finish(node, anchor)
            }
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => Ok(()),
            Event::StreamEnd | Event::DocumentStart => Ok(()),
        }
    }

    /// True when the next node completes a mapping key.
    fn expecting_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                kind: FrameKind::Map { key: None, .. },
                ..
            })
        )
    }

    fn open(
        &mut self,
        line: usize,
        anchor: usize,
        tag: CollectionTag,
        kind: FrameKind,
    ) -> Built<()> {
        if self.expecting_key() {
            let what = if matches!(kind, FrameKind::Seq(_)) {
                "a list"
            } else {
                "a mapping"
            };
            return Err(self.error(
                line,
                format!("found unhashable key: a mapping key must be a scalar, not {what}"),
            ));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(
                line,
                format!("YAML nesting is deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.stack.push(Frame {
            line,
            anchor,
            tag,
            kind,
        });
        Ok(())
    }

    fn collection_tag(
        &self,
        tag: Option<&Tag>,
        mapping: bool,
        line: usize,
    ) -> Built<CollectionTag> {
        let Some(tag) = tag else {
            return Ok(CollectionTag::Plain);
        };
        let full = full_tag(tag);
        let found = if mapping { "mapping" } else { "sequence" };
        let yaml_type = full.strip_prefix(YAML_TAG_PREFIX);
        match (yaml_type, full.as_str(), mapping) {
            (Some("map" | "python/dict"), _, true) => Ok(CollectionTag::Plain),
            (Some("set"), _, true) => Ok(CollectionTag::Set),
            (Some("seq"), _, false) => Ok(CollectionTag::Plain),
            (Some("omap" | "pairs"), _, false) => Ok(CollectionTag::Pairs),
            // `!unsafe` on a collection: loaded as if untagged.
            (_, "!unsafe" | "!", _) => Ok(CollectionTag::Plain),
            (_, "!vault" | "!vault-encrypted", _) => Err(self.error(
                line,
                format!("the '{full}' tag requires a string value, found a {found}"),
            )),
            (Some("map" | "python/dict" | "set"), ..) => Err(self.error(
                line,
                format!("expected a mapping node for '{full}', but found a {found}"),
            )),
            (Some("seq" | "omap" | "pairs"), ..) => Err(self.error(
                line,
                format!("expected a sequence node for '{full}', but found a {found}"),
            )),
            (
                Some(
                    "str" | "int" | "float" | "bool" | "null" | "timestamp" | "binary"
                    | "python/unicode",
                ),
                ..,
            ) => Err(self.error(
                line,
                format!("expected a scalar node for '{full}', but found a {found}"),
            )),
            _ => Err(self.error(
                line,
                format!("could not determine a constructor for the tag '{full}'"),
            )),
        }
    }

    fn close(&mut self, frame: Frame) -> Built<Node> {
        let line = frame.line;
        let kind = match frame.kind {
            FrameKind::Seq(items) if frame.tag == CollectionTag::Pairs => {
                NodeKind::Seq(self.pairs(items)?)
            }
            FrameKind::Seq(items) => NodeKind::Seq(items),
            FrameKind::Map { own, merged, key } => {
                if key.is_some() {
                    return Err(self.error(line, "mapping ended before the value of its last key"));
                }
                let mut map = IndexMap::with_capacity(own.len() + merged.len());
                for (key, entry) in merged.into_iter().chain(own) {
                    match map.entry(key) {
                        MapSlot::Vacant(slot) => {
                            slot.insert(entry);
                        }
                        // Python's dict: the key keeps its place, the value is replaced.
                        MapSlot::Occupied(mut slot) => {
                            if self.mode == Mode::Yaml {
                                self.warnings.push(Warning {
                                    line: entry.key_line,
                                    message: format!(
                                        "Found duplicate mapping key '{}'. Using last defined value only.",
                                        slot.key()
                                    ),
                                });
                            }
                            slot.insert(entry);
                        }
                    }
                }
                if self.mode == Mode::Json {
                    let marker = ansible_json_marker(
                        map.get("__ansible_unsafe")
                            .map(|e| &e.value)
                            .and_then(json_string_value),
                        map.get("__ansible_vault")
                            .map(|e| &e.value)
                            .and_then(json_string_value),
                    );
                    match marker {
                        Some(Some(kind)) => return Ok(Node { line, kind }),
                        Some(None) => return Err(BuildError::NotAnsibleJson),
                        None if map.contains_key("__ansible_unsafe")
                            || map.contains_key("__ansible_vault") =>
                        {
                            return Err(BuildError::NotAnsibleJson);
                        }
                        None => {}
                    }
                }
                if frame.tag == CollectionTag::Set {
                    NodeKind::Seq(
                        map.into_iter()
                            .map(|(key, entry)| Node {
                                line: entry.key_line,
                                kind: NodeKind::Scalar(
                                    key_value(key, entry.key_type),
                                    entry.key_type,
                                ),
                            })
                            .collect(),
                    )
                } else {
                    NodeKind::Map(map)
                }
            }
        };
        Ok(Node { line, kind })
    }

    /// `!!omap`/`!!pairs`: every item must be a mapping of exactly one entry.
    fn pairs(&self, items: Vec<Node>) -> Built<Vec<Node>> {
        items
            .into_iter()
            .map(|item| {
                let line = item.line;
                match item.kind {
                    NodeKind::Map(map) if map.len() == 1 => {
                        let (key, entry) = map.into_iter().next().expect("one entry");
                        let key_node = Node {
                            line: entry.key_line,
                            kind: NodeKind::Scalar(key_value(key, entry.key_type), entry.key_type),
                        };
                        Ok(Node {
                            line,
                            kind: NodeKind::Seq(vec![key_node, entry.value]),
                        })
                    }
                    _ => Err(self.error(
                        line,
                        "expected a mapping of exactly one entry in an ordered map",
                    )),
                }
            })
            .collect()
    }

    fn alias(&mut self, id: usize, line: usize) -> Built<()> {
        let Some(anchored) = self.anchors.get(&id) else {
            return Err(self.error(
                line,
                "an alias refers to a node that contains it (recursive aliases are not supported)",
            ));
        };
        if self.stack.len() + anchored.height > MAX_DEPTH {
            return Err(self.error(
                line,
                format!("YAML nesting is deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.alias_nodes += anchored.size;
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(self.error(
                line,
                format!("aliases expand to more than {MAX_ALIAS_NODES} nodes; refusing to load"),
            ));
        }
        let node = anchored.node.clone();
        self.attach(node, line)
    }

    /// A completed node: remember it under its anchor, then attach it.
    fn finish(&mut self, node: Node, anchor: usize) -> Built<()> {
        if anchor != 0 {
            let (size, height) = node.measure();
            self.anchors.insert(
                anchor,
                Anchored {
                    node: node.clone(),
                    size,
                    height,
                },
            );
        }
        let line = node.line;
        self.attach(node, line)
    }

    fn attach(&mut self, node: Node, line: usize) -> Built<()> {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        match &mut frame.kind {
            FrameKind::Seq(items) => {
                items.push(node);
                Ok(())
            }
            FrameKind::Map {
                key: slot @ None, ..
            } => {
                let NodeKind::Scalar(value, ty) = node.kind else {
                    return Err(BuildError::Invalid(InventoryError::at(
                        self.path,
                        line,
                        "found unhashable key: a mapping key must be a scalar, not a collection",
                    )));
                };
                *slot = Some(PendingKey {
                    text: key_text(value, ty),
                    ty,
                    line: node.line,
                    merge: false,
                });
                Ok(())
            }
            FrameKind::Map { key, own, merged } => {
                let key = key.take().expect("matched Some above");
                if key.merge {
                    let entries = merge_entries(node)
                        .map_err(|m| BuildError::Invalid(InventoryError::at(self.path, line, m)))?;
                    merged.extend(entries);
                } else {
                    own.push((
                        key.text,
                        Entry {
                            key_line: key.line,
                            key_type: key.ty,
                            value: node,
                        },
                    ));
                }
                Ok(())
            }
        }
    }

    /// Builds a scalar node; `None` when it was a `<<` merge key, which
    /// fills the key slot instead of becoming a node.
    fn scalar(
        &mut self,
        text: String,
        style: TScalarStyle,
        tag: Option<&Tag>,
        line: usize,
    ) -> Built<Option<Node>> {
        let as_key = self.expecting_key();
        let full = tag.map(full_tag);
        let plain = style == TScalarStyle::Plain;
        let construct = match full.as_deref() {
            None if self.mode == Mode::Json => {
                let kind = if plain {
                    json_plain(text)
                } else {
                    NodeKind::Scalar(Value::String(text), ScalarType::Str)
                };
                return Ok(Some(Node { line, kind }));
            }
            None if plain => resolve_plain(&text),
            None => Resolved::Str,
            // The non-specific `!` and Ansible's `!unsafe` resolve as plain
            // scalars whatever their quoting (libyaml and ansible-core 2.19).
            Some("!" | "!unsafe") => resolve_plain(&text),
            Some(full @ ("!vault" | "!vault-encrypted")) => {
                if resolve_plain(&text) != Resolved::Str {
                    return Err(
                        self.error(line, format!("the '{full}' tag requires a string value"))
                    );
                }
                return Ok(Some(Node {
                    line,
                    kind: vault_scalar(&text),
                }));
            }
            Some(full) => match full.strip_prefix(YAML_TAG_PREFIX) {
                Some("str" | "python/unicode") => Resolved::Str,
                Some("int") => Resolved::Int,
                Some("float") => Resolved::Float,
                Some("bool") => Resolved::ExplicitBool,
                Some("null") => Resolved::Null,
                Some("timestamp") => Resolved::Timestamp,
                Some("merge") => Resolved::Merge,
                Some("value") => Resolved::ValueIndicator,
                Some("binary") => {
                    return Err(self.error(line, "binary values (!!binary) are not supported"));
                }
                Some("map" | "python/dict" | "set") => {
                    return Err(self.error(
                        line,
                        format!("expected a mapping node for '{full}', but found a scalar"),
                    ));
                }
                Some("seq" | "omap" | "pairs") => {
                    return Err(self.error(
                        line,
                        format!("expected a sequence node for '{full}', but found a scalar"),
                    ));
                }
                _ => {
                    return Err(self.error(
                        line,
                        format!("could not determine a constructor for the tag '{full}'"),
                    ));
                }
            },
        };
        let (value, ty) = match construct {
            Resolved::Merge if as_key => {
                self.mark_merge_key(line);
                return Ok(None);
            }
            // PyYAML turns a `=` key into the string "=".
            Resolved::ValueIndicator if as_key => (Value::String(text), ScalarType::Str),
            Resolved::Merge => {
                return Err(
                    self.error(line, "'<<' (a merge key) can only be used as a mapping key")
                );
            }
            Resolved::ValueIndicator => {
                return Err(self.error(
                    line,
                    "could not determine a constructor for the tag 'tag:yaml.org,2002:value' (quote the '=')",
                ));
            }
            resolved => construct_scalar(resolved, text).map_err(|m| self.error(line, m))?,
        };
        Ok(Some(Node {
            line,
            kind: NodeKind::Scalar(value, ty),
        }))
    }

    /// Fills the current key slot with a `<<` merge key.
    fn mark_merge_key(&mut self, line: usize) {
        if let Some(Frame {
            kind: FrameKind::Map { key, .. },
            ..
        }) = self.stack.last_mut()
        {
            *key = Some(PendingKey {
                text: "<<".into(),
                ty: ScalarType::Str,
                line,
                merge: true,
            });
        }
    }
}

/// The entries a `<<` value contributes, in the order PyYAML applies them:
/// for a list, the last mapping first, so earlier ones win.
fn merge_entries(node: Node) -> Result<Vec<(String, Entry)>, String> {
    match node.kind {
        NodeKind::Map(map) => Ok(map.into_iter().collect()),
        NodeKind::Seq(items) => {
            let mut out = Vec::new();
            for item in items.into_iter().rev() {
                match item.kind {
                    NodeKind::Map(map) => out.extend(map),
                    _ => {
                        return Err(format!(
                            "expected a mapping for merging, but found a {}",
                            item.python_type_for_merge()
                        ));
                    }
                }
            }
            Ok(out)
        }
        NodeKind::Scalar(..) => {
            Err("expected a mapping or list of mappings for merging, but found a scalar".into())
        }
    }
}

impl Node {
    fn python_type_for_merge(&self) -> &'static str {
        match self.kind {
            NodeKind::Scalar(..) => "scalar",
            NodeKind::Seq(_) => "sequence",
            NodeKind::Map(_) => "mapping",
        }
    }
}

fn full_tag(tag: &Tag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}

fn json_string_value(node: &Node) -> Option<&Value> {
    match &node.kind {
        NodeKind::Scalar(value, _) => Some(value),
        _ => None,
    }
}

/// JSON mode: a plain scalar is `true`, `false`, `null` or a number.
fn json_plain(text: String) -> NodeKind {
    match serde_json::from_str::<Value>(&text) {
        Ok(value @ (Value::Null | Value::Bool(_) | Value::Number(_))) => {
            let value = super::canonical_number(value);
            let ty = json_scalar_type(&value);
            NodeKind::Scalar(value, ty)
        }
        _ => NodeKind::Scalar(Value::String(text), ScalarType::Str),
    }
}

/// The text `json.dumps` prints for a mapping key of this value.
fn key_text(value: Value, ty: ScalarType) -> String {
    match value {
        Value::String(s) => s,
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && ty == ScalarType::Float => float_repr(f),
            _ => n.to_string(),
        },
        Value::Object(map) => map
            .get("__ansible_vault")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        Value::Array(_) => String::new(),
    }
}

/// Rebuilds a scalar from a key's text (for `!!set` and pairs).
fn key_value(text: String, ty: ScalarType) -> Value {
    match ty {
        ScalarType::Null => Value::Null,
        ScalarType::Bool => Value::Bool(text == "true"),
        ScalarType::Int | ScalarType::Float => serde_json::from_str::<Number>(&text)
            .map(Value::Number)
            .unwrap_or(Value::String(text)),
        ScalarType::Vault => match vault_scalar(&text) {
            NodeKind::Scalar(value, _) => value,
            _ => Value::String(text),
        },
        ScalarType::Str | ScalarType::Timestamp => Value::String(text),
    }
}

// ---------------------------------------------------------------------------
// YAML 1.1 scalar typing (PyYAML's resolver and SafeConstructor)

/// The type a scalar is constructed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolved {
    Null,
    /// Implicit booleans are exactly PyYAML's 18 spellings.
    Bool,
    /// `!!bool` accepts yes/no/true/false/on/off in any case.
    ExplicitBool,
    Int,
    Float,
    Timestamp,
    Merge,
    /// PyYAML's `=` "value" type.
    ValueIndicator,
    Str,
}

/// PyYAML's implicit resolvers for a plain scalar, tried in its order.
fn resolve_plain(s: &str) -> Resolved {
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' => {
            if is_bool(s) {
                Resolved::Bool
            } else if matches!(s, "null" | "Null" | "NULL") {
                Resolved::Null
            } else {
                Resolved::Str
            }
        }
        b'~' if s == "~" => Resolved::Null,
        b'<' if s == "<<" => Resolved::Merge,
        b'=' if s == "=" => Resolved::ValueIndicator,
        b'-' | b'+' | b'.' | b'0'..=b'9' => {
            if is_float(s) {
                Resolved::Float
            } else if is_int(s) {
                Resolved::Int
            } else if is_timestamp(s) {
                Resolved::Timestamp
            } else {
                Resolved::Str
            }
        }
        _ => Resolved::Str,
    }
}

fn is_bool(s: &str) -> bool {
    matches!(
        s,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// A tiny cursor for matching PyYAML's regular expressions by hand.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor {
            bytes: s.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn done(&self) -> bool {
        self.pos == self.bytes.len()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_sign(&mut self) -> bool {
        self.eat(b'-') || self.eat(b'+')
    }

    /// Consumes bytes while `f` holds; returns how many.
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Between `min` and `max` digits.
    fn digits(&mut self, min: usize, max: usize) -> bool {
        let start = self.pos;
        while self.pos - start < max && self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start >= min
    }

    /// `(?::[0-5]?[0-9])+` — sexagesimal groups.
    fn sexagesimal_groups(&mut self) -> bool {
        let mut groups = 0;
        while self.peek() == Some(b':') {
            let start = self.pos;
            self.pos += 1;
            let n = self.take_while(|b| b.is_ascii_digit());
            let ok = n == 1 || (n == 2 && self.bytes[self.pos - 2] <= b'5');
            if !ok {
                self.pos = start;
                return false;
            }
            groups += 1;
        }
        groups > 0
    }

    /// `(?:[eE][-+][0-9]+)?` — the sign is required in YAML 1.1.
    fn optional_exponent(&mut self) -> bool {
        if self.eat(b'e') || self.eat(b'E') {
            return self.eat_sign() && self.take_while(|b| b.is_ascii_digit()) > 0;
        }
        true
    }
}

fn digit_or_underscore(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

fn is_float(s: &str) -> bool {
    let mut c = Cursor::new(s);
    let signed = c.eat_sign();
    let rest = &s[c.pos..];
    if matches!(rest, ".inf" | ".Inf" | ".INF")
        || (!signed && matches!(rest, ".nan" | ".NaN" | ".NAN"))
    {
        return true;
    }
    if c.eat(b'.') {
        // `\.[0-9][0-9_]*(exp)?` has no sign.
        return !signed
            && c.peek().is_some_and(|b| b.is_ascii_digit())
            && {
                c.take_while(digit_or_underscore);
                c.optional_exponent()
            }
            && c.done();
    }
    if !c.peek().is_some_and(|b| b.is_ascii_digit()) {
        return false;
    }
    c.take_while(digit_or_underscore);
    if c.eat(b'.') {
        c.take_while(digit_or_underscore);
        return c.optional_exponent() && c.done();
    }
    c.sexagesimal_groups() && c.eat(b'.') && {
        c.take_while(digit_or_underscore);
        c.done()
    }
}

fn is_int(s: &str) -> bool {
    let mut c = Cursor::new(s);
    c.eat_sign();
    let body = &s[c.pos..];
    if let Some(bits) = body.strip_prefix("0b") {
        return !bits.is_empty() && bits.bytes().all(|b| matches!(b, b'0' | b'1' | b'_'));
    }
    if let Some(hex) = body.strip_prefix("0x") {
        return !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit() || b == b'_');
    }
    if body == "0" {
        return true;
    }
    if let Some(octal) = body.strip_prefix('0') {
        return octal.bytes().all(|b| matches!(b, b'0'..=b'7' | b'_'));
    }
    if !matches!(c.peek(), Some(b'1'..=b'9')) {
        return false;
    }
    c.take_while(digit_or_underscore);
    c.done() || (c.sexagesimal_groups() && c.done())
}

/// PyYAML's timestamp resolver: `2001-12-14` or a date and time.
fn is_timestamp(s: &str) -> bool {
    parse_timestamp(s).is_some()
}

struct Timestamp {
    year: u32,
    month: u32,
    day: u32,
    time: Option<(u32, u32, u32, u32)>,
    /// Offset in minutes; `Some(0)` for `Z`.
    offset: Option<i32>,
}

fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let mut c = Cursor::new(s);
    let number = |c: &Cursor, start: usize| -> u32 {
        std::str::from_utf8(&c.bytes[start..c.pos])
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0)
    };
    let start = c.pos;
    if !c.digits(4, 4) {
        return None;
    }
    let year = number(&c, start);
    if !c.eat(b'-') {
        return None;
    }
    let start = c.pos;
    if !c.digits(1, 2) {
        return None;
    }
    let month = number(&c, start);
    let month_len = c.pos - start;
    if !c.eat(b'-') {
        return None;
    }
    let start = c.pos;
    if !c.digits(1, 2) {
        return None;
    }
    let day = number(&c, start);
    let day_len = c.pos - start;
    if c.done() {
        // A date alone needs two-digit month and day.
        return (month_len == 2 && day_len == 2).then_some(Timestamp {
            year,
            month,
            day,
            time: None,
            offset: None,
        });
    }
    if !(c.eat(b'T') || c.eat(b't') || c.take_while(|b| b == b' ' || b == b'\t') > 0) {
        return None;
    }
    let start = c.pos;
    if !c.digits(1, 2) {
        return None;
    }
    let hour = number(&c, start);
    let two = |c: &mut Cursor| -> Option<u32> {
        if !c.eat(b':') {
            return None;
        }
        let start = c.pos;
        c.digits(2, 2).then(|| number(c, start))
    };
    let minute = two(&mut c)?;
    let second = two(&mut c)?;
    let mut micros = 0;
    if c.eat(b'.') {
        let start = c.pos;
        c.take_while(|b| b.is_ascii_digit());
        let fraction = &s[start..c.pos];
        let mut six: String = fraction.chars().take(6).collect();
        while six.len() < 6 {
            six.push('0');
        }
        micros = six.parse().unwrap_or(0);
    }
    let mut offset = None;
    if !c.done() {
        c.take_while(|b| b == b' ' || b == b'\t');
        if c.eat(b'Z') {
            offset = Some(0);
        } else {
            let negative = c.peek() == Some(b'-');
            if !c.eat_sign() {
                return None;
            }
            let start = c.pos;
            if !c.digits(1, 2) {
                return None;
            }
            let hours = number(&c, start) as i32;
            let mut minutes = 0;
            if c.eat(b':') {
                let start = c.pos;
                if !c.digits(2, 2) {
                    return None;
                }
                minutes = number(&c, start) as i32;
            }
            let total = hours * 60 + minutes;
            offset = Some(if negative { -total } else { total });
        }
    }
    c.done().then_some(Timestamp {
        year,
        month,
        day,
        time: Some((hour, minute, second, micros)),
        offset,
    })
}

/// Python's `isoformat()` of the date or datetime PyYAML constructs.
fn timestamp_isoformat(s: &str) -> Result<String, String> {
    let ts = parse_timestamp(s).ok_or_else(|| format!("'{s}' is not a valid timestamp"))?;
    let leap = ts.year % 4 == 0 && (ts.year % 100 != 0 || ts.year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if ts.year == 0 || !(1..=12).contains(&ts.month) {
        return Err(format!("'{s}' is not a valid date: month must be in 1..12"));
    }
    if ts.day == 0 || ts.day > month_days[ts.month as usize - 1] {
        return Err(format!(
            "'{s}' is not a valid date: day is out of range for month"
        ));
    }
    let mut out = format!("{:04}-{:02}-{:02}", ts.year, ts.month, ts.day);
    let Some((hour, minute, second, micros)) = ts.time else {
        return Ok(out);
    };
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!("'{s}' is not a valid time"));
    }
    out.push_str(&format!("T{hour:02}:{minute:02}:{second:02}"));
    if micros != 0 {
        out.push_str(&format!(".{micros:06}"));
    }
    if let Some(offset) = ts.offset {
        if offset.abs() >= 24 * 60 {
            return Err(format!("'{s}' has a time zone offset of 24 hours or more"));
        }
        let sign = if offset < 0 { '-' } else { '+' };
        out.push_str(&format!(
            "{sign}{:02}:{:02}",
            offset.abs() / 60,
            offset.abs() % 60
        ));
    }
    Ok(out)
}

fn construct_scalar(resolved: Resolved, text: String) -> Result<(Value, ScalarType), String> {
    Ok(match resolved {
        Resolved::Null => (Value::Null, ScalarType::Null),
        Resolved::Bool | Resolved::ExplicitBool => {
            let value = match text.to_ascii_lowercase().as_str() {
                "yes" | "true" | "on" => true,
                "no" | "false" | "off" => false,
                _ => {
                    return Err(format!(
                        "'{text}' is not a boolean (expected yes/no, true/false or on/off)"
                    ));
                }
            };
            (Value::Bool(value), ScalarType::Bool)
        }
        Resolved::Int => (construct_int(&text)?, ScalarType::Int),
        Resolved::Float => (float_value(construct_float(&text)?), ScalarType::Float),
        Resolved::Timestamp => (
            Value::String(timestamp_isoformat(&text)?),
            ScalarType::Timestamp,
        ),
        Resolved::Str | Resolved::Merge | Resolved::ValueIndicator => {
            (Value::String(text), ScalarType::Str)
        }
    })
}

/// An exact integer while it fits 128 bits, else an approximation.
enum BigInt {
    Exact(u128),
    Approx(f64),
}

impl BigInt {
    fn push_digit(self, radix: u32, digit: u32) -> BigInt {
        match self {
            BigInt::Exact(n) => match n
                .checked_mul(radix as u128)
                .and_then(|n| n.checked_add(digit as u128))
            {
                Some(n) => BigInt::Exact(n),
                None => BigInt::Approx(n as f64 * radix as f64 + digit as f64),
            },
            BigInt::Approx(f) => BigInt::Approx(f * radix as f64 + digit as f64),
        }
    }

    fn add_scaled(self, other: BigInt, scale: u128) -> BigInt {
        match (self, other) {
            (BigInt::Exact(a), BigInt::Exact(b)) => {
                match b.checked_mul(scale).and_then(|b| b.checked_add(a)) {
                    Some(n) => BigInt::Exact(n),
                    None => BigInt::Approx(a as f64 + b as f64 * scale as f64),
                }
            }
            (a, b) => BigInt::Approx(a.to_f64() + b.to_f64() * scale as f64),
        }
    }

    fn to_f64(&self) -> f64 {
        match self {
            BigInt::Exact(n) => *n as f64,
            BigInt::Approx(f) => *f,
        }
    }

    fn into_value(self, negative: bool) -> Value {
        if let BigInt::Exact(n) = self {
            if negative {
                if n <= 1u128 << 63 {
                    return Value::from((n as i128).wrapping_neg() as i64);
                }
            } else if let Ok(n) = u64::try_from(n) {
                return Value::from(n);
            }
            // Beyond 64 bits: exact, as Python's ints are.
            let sign = if negative { "-" } else { "" };
            return super::exact_integer(&format!("{sign}{n}"));
        }
        let f = self.to_f64();
        float_value(if negative { -f } else { f })
    }
}

fn parse_radix(digits: &str, radix: u32) -> Option<BigInt> {
    if digits.is_empty() {
        return None;
    }
    let mut n = BigInt::Exact(0);
    for ch in digits.chars() {
        n = n.push_digit(radix, ch.to_digit(radix)?);
    }
    Some(n)
}

/// PyYAML's `construct_yaml_int`.
fn construct_int(text: &str) -> Result<Value, String> {
    let invalid = || format!("'{text}' is not a valid integer");
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let (negative, body) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        _ => (false, cleaned.as_str()),
    };
    let number = if body == "0" {
        Some(BigInt::Exact(0))
    } else if let Some(bits) = body.strip_prefix("0b") {
        parse_radix(bits, 2)
    } else if let Some(hex) = body.strip_prefix("0x") {
        parse_radix(hex, 16)
    } else if let Some(octal) = body.strip_prefix("0o") {
        parse_radix(octal, 8)
    } else if body.starts_with('0') {
        parse_radix(body, 8)
    } else if body.contains(':') {
        let mut total = BigInt::Exact(0);
        let mut scale: u128 = 1;
        for part in body.rsplit(':') {
            total = total.add_scaled(parse_radix(part, 10).ok_or_else(invalid)?, scale);
            scale = scale.saturating_mul(60);
        }
        Some(total)
    } else {
        parse_radix(body.trim(), 10)
    };
    number.map(|n| n.into_value(negative)).ok_or_else(invalid)
}

/// PyYAML's `construct_yaml_float`.
fn construct_float(text: &str) -> Result<f64, String> {
    let invalid = || format!("'{text}' is not a valid float");
    let cleaned: String = text
        .chars()
        .filter(|&c| c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    let (sign, body) = match cleaned.as_bytes().first() {
        Some(b'-') => (-1.0, &cleaned[1..]),
        Some(b'+') => (1.0, &cleaned[1..]),
        _ => (1.0, cleaned.as_str()),
    };
    if body == ".inf" {
        return Ok(sign * f64::INFINITY);
    }
    if body == ".nan" {
        return Ok(f64::NAN);
    }
    let parse = |part: &str| -> Result<f64, String> {
        let part = part.trim();
        // Python's float() accepts forms Rust does not spell the same way.
        if part.is_empty() || part.starts_with(['+', '-']) && part.len() == 1 {
            return Err(invalid());
        }
        part.parse::<f64>().map_err(|_| invalid())
    };
    if body.contains(':') {
        // Same arithmetic order as PyYAML, for identical rounding.
        let mut value = 0.0;
        let mut base = 1.0;
        for part in body.rsplit(':') {
            value += parse(part)? * base;
            base *= 60.0;
        }
        return Ok(sign * value);
    }
    Ok(sign * parse(body)?)
}

/// A float as JSON: non-finite values have no JSON number, so they become
/// the strings Python's `json.dumps` would print.
fn float_value(f: f64) -> Value {
    if f.is_nan() {
        Value::String("NaN".into())
    } else if f.is_infinite() {
        Value::String(if f > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path() -> &'static Path {
        Path::new("/inv/test.yml")
    }

    fn load_ok(text: &str) -> Value {
        load(path(), text).expect("loads").expect("not empty")
    }

    fn load_err(text: &str) -> (usize, String) {
        match load(path(), text) {
            Err(InventoryError::At { line, message, .. }) => (line, message),
            other => panic!("expected an error with a line for {text:?}, got {other:?}"),
        }
    }

    /// Plain scalars and what PyYAML 6.0 (`yaml.safe_load`) makes of them,
    /// printed with `json.dumps` (dates with `isoformat()`, inf/nan as the
    /// text json.dumps prints). Generated by running PyYAML on each.
    const TYPING: &[(&str, &str)] = &[
        ("yes", "true"),
        ("Yes", "true"),
        ("YES", "true"),
        ("no", "false"),
        ("No", "false"),
        ("NO", "false"),
        ("true", "true"),
        ("True", "true"),
        ("TRUE", "true"),
        ("false", "false"),
        ("False", "false"),
        ("FALSE", "false"),
        ("on", "true"),
        ("On", "true"),
        ("ON", "true"),
        ("off", "false"),
        ("Off", "false"),
        ("OFF", "false"),
        ("y", "\"y\""),
        ("Y", "\"Y\""),
        ("n", "\"n\""),
        ("N", "\"N\""),
        ("yEs", "\"yEs\""),
        ("tRUE", "\"tRUE\""),
        ("oN", "\"oN\""),
        ("~", "null"),
        ("null", "null"),
        ("Null", "null"),
        ("NULL", "null"),
        ("nULL", "\"nULL\""),
        ("0", "0"),
        ("-0", "0"),
        ("+0", "0"),
        ("1", "1"),
        ("-1", "-1"),
        ("+1", "1"),
        ("1_000", "1000"),
        ("0755", "493"),
        ("-0755", "-493"),
        ("0_7", "7"),
        ("08", "\"08\""),
        ("0o17", "\"0o17\""),
        ("0b101", "5"),
        ("-0b1_01", "-5"),
        ("0x1F", "31"),
        ("-0x_1F", "-31"),
        ("0X1F", "\"0X1F\""),
        ("0xFFFFFFFFFFFFFFFF", "18446744073709551615"),
        ("9223372036854775807", "9223372036854775807"),
        ("9223372036854775808", "9223372036854775808"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("18446744073709551615", "18446744073709551615"),
        ("1:30", "90"),
        ("-1:30", "-90"),
        ("1:30:45", "5445"),
        ("1:60", "\"1:60\""),
        ("1:5", "65"),
        ("0:30", "\"0:30\""),
        ("01:30", "\"01:30\""),
        ("1:075", "\"1:075\""),
        ("1.5", "1.5"),
        ("-1.5", "-1.5"),
        ("+1.5", "1.5"),
        ("1.", "1.0"),
        ("1.0", "1.0"),
        (".5", "0.5"),
        ("-.5", "\"-.5\""),
        ("1e5", "\"1e5\""),
        ("1.0e5", "\"1.0e5\""),
        ("1.0e+5", "100000.0"),
        ("1.0E-5", "1e-05"),
        ("1_000.5", "1000.5"),
        ("1.5_5", "1.55"),
        (".inf", "\"Infinity\""),
        ("-.inf", "\"-Infinity\""),
        ("+.inf", "\"Infinity\""),
        (".Inf", "\"Infinity\""),
        (".INF", "\"Infinity\""),
        (".nan", "\"NaN\""),
        (".NaN", "\"NaN\""),
        (".NAN", "\"NaN\""),
        ("-.nan", "\"-.nan\""),
        ("1:30.5", "90.5"),
        ("-1:30.5", "-90.5"),
        ("190:20:30.15", "685230.15"),
        ("1..5", "\"1..5\""),
        ("1.5.5", "\"1.5.5\""),
        ("._5", "\"._5\""),
        (".e5", "\".e5\""),
        ("3.14e+0", "3.14"),
        ("<<", "ERROR"),
        ("=", "ERROR"),
        ("abc", "\"abc\""),
        ("1.2.3", "\"1.2.3\""),
        ("0x", "\"0x\""),
        ("0b", "\"0b\""),
        ("12abc", "\"12abc\""),
        (
            "2001-12-14t21:59:43.10-05:00",
            "\"2001-12-14T21:59:43.100000-05:00\"",
        ),
        ("2001-12-14T21:59:43Z", "\"2001-12-14T21:59:43+00:00\""),
        ("2001-12-14 21:59:43.10", "\"2001-12-14T21:59:43.100000\""),
        ("2001-1-1T1:02:03", "\"2001-01-01T01:02:03\""),
        (
            "2001-12-14T21:59:43 +05:30",
            "\"2001-12-14T21:59:43+05:30\"",
        ),
        ("2001-12-14T21:59:43.000", "\"2001-12-14T21:59:43\""),
        ("2001-12-14", "\"2001-12-14\""),
        ("2001-1-1", "\"2001-1-1\""),
    ];

    #[test]
    fn plain_scalars_are_typed_like_pyyaml() {
        let mut failures = Vec::new();
        for (scalar, expected) in TYPING {
            let got = load(path(), &format!("v: {scalar}\n"));
            match (*expected, got) {
                ("ERROR", Err(_)) => {}
                ("ERROR", Ok(v)) => {
                    failures.push(format!("{scalar:?}: expected an error, got {v:?}"))
                }
                (expected, Ok(Some(v))) => {
                    let expected: Value = serde_json::from_str(expected).unwrap();
                    let expected = crate::inventory::canonical_number(expected);
                    if v["v"] != expected {
                        failures.push(format!("{scalar:?}: expected {expected}, got {}", v["v"]));
                    }
                }
                (_, other) => failures.push(format!("{scalar:?}: got {other:?}")),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn quoted_and_block_scalars_are_strings() {
        let v = load_ok("a: 'yes'\nb: \"1\"\nc: |\n  on\nd: >-\n  0x10\ne: ''\n");
        assert_eq!(
            v,
            json!({"a": "yes", "b": "1", "c": "on\n", "d": "0x10", "e": ""})
        );
    }

    #[test]
    fn explicit_tags() {
        let v = load_ok(concat!(
            "s: !!str 1.5\n",
            "i: !!int \"0x10\"\n",
            "f: !!float 1e5\n",
            "b: !!bool YeS\n",
            "n: !!null abc\n",
            "t: !!timestamp 2001-12-14\n",
            "nonspecific: ! 12\n",
            "verbatim: !<tag:yaml.org,2002:str> 12\n",
            "m: !!map {a: 1}\n",
            "q: !!seq [1]\n",
        ));
        assert_eq!(
            v,
            json!({"s": "1.5", "i": 16, "f": 100000.0, "b": true, "n": null, "t": "2001-12-14",
                   "nonspecific": 12, "verbatim": "12", "m": {"a": 1}, "q": [1]})
        );
    }

    #[test]
    fn collection_tags_become_lists() {
        let v = load_ok("s: !!set {a, b}\no: !!omap [a: 1, b: 2]\np: !!pairs [a: 1, a: 2]\n");
        assert_eq!(
            v,
            json!({"s": ["a", "b"], "o": [["a", 1], ["b", 2]], "p": [["a", 1], ["a", 2]]})
        );
    }

    #[test]
    fn unsafe_values_load_as_if_untagged() {
        // ansible-core 2.19 re-resolves `!unsafe` values, even quoted ones.
        let v = load_ok(
            "a: !unsafe yes\nb: !unsafe \"yes\"\nc: !unsafe '{{ x }}'\nd: !unsafe {x: 0x10}\ne: !unsafe\n",
        );
        assert_eq!(
            v,
            json!({"a": true, "b": true, "c": "{{ x }}", "d": {"x": 16}, "e": null})
        );
    }

    #[test]
    fn vault_values_keep_their_ciphertext() {
        let v = load_ok("pw: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n");
        assert_eq!(
            v,
            json!({"pw": {"__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256\n6162\n"}})
        );
        let doc = load_document(path(), "pw: !vault abc\n").unwrap().unwrap();
        let pw = &doc.root.as_map().unwrap()["pw"].value;
        assert_eq!(pw.python_type(), "EncryptedString");
        assert_eq!(pw.as_str(), None, "a vaulted value is not a usable string");
        assert_eq!(load_err("a: 1\npw: !vault 12\n").0, 2);
        assert_eq!(load_err("pw: !vault {a: 1}\n").0, 1);
    }

    #[test]
    fn unknown_and_mismatched_tags_are_errors_with_lines() {
        let (line, message) = load_err("a: 1\nb: !foo x\n");
        assert_eq!(line, 2);
        assert!(message.contains("'!foo'"), "{message}");
        assert_eq!(load_err("a:\n  b: !!int abc\n").0, 2);
        assert_eq!(load_err("a: !!str {x: 1}\n").0, 1);
        assert_eq!(load_err("a: !!map x\n").0, 1);
        assert_eq!(load_err("\n\na: !!binary aGVsbG8=\n").0, 3);
        assert_eq!(load_err("a: !!bool maybe\n").0, 1);
        assert_eq!(load_err("a: 2001-13-01 10:00:00\n").0, 1);
        assert_eq!(load_err("x: 1\na: =\n").0, 2);
    }

    #[test]
    fn anchors_aliases_and_merge_keys_match_pyyaml() {
        // Expected output printed by PyYAML's safe_load for the same text.
        let text = concat!(
            "base: &b {x: 1, y: 2}\n",
            "other: &o {y: 3, z: 4}\n",
            "m1:\n  <<: *b\n  x: 9\n",
            "m2:\n  <<: [*b, *o]\n",
            "m3:\n  <<: *b\n  <<: *o\n",
            "m4:\n  a: 1\n  <<: *o\n  \"<<\": str\n  a: 2\n",
            "list: &l [1, 2]\n",
            "again: *l\n",
            "inline:\n  <<: {k: v}\n  own: 1\n",
        );
        let v = load_ok(text);
        let expected: Value = serde_json::from_str(
            r#"{"base": {"x": 1, "y": 2}, "other": {"y": 3, "z": 4}, "m1": {"x": 9, "y": 2},
                "m2": {"y": 2, "z": 4, "x": 1}, "m3": {"x": 1, "y": 3, "z": 4},
                "m4": {"y": 3, "z": 4, "a": 2, "<<": "str"}, "list": [1, 2], "again": [1, 2],
                "inline": {"k": "v", "own": 1}}"#,
        )
        .unwrap();
        assert_eq!(v, expected);
        // Key order matters too (serde_json's map equality ignores it).
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            serde_json::to_string(&expected).unwrap()
        );
    }

    #[test]
    fn bad_merges_are_errors() {
        assert_eq!(load_err("a: &a 1\nb:\n  <<: *a\n").0, 3);
        assert_eq!(load_err("b:\n  <<: [{a: 1}, 2]\n").0, 2);
        assert!(load(path(), "- <<\n").is_err());
    }

    #[test]
    fn duplicate_keys_last_wins_in_first_position_with_a_warning() {
        let doc = load_document(path(), "a: 1\nb: 2\na: 3\n")
            .unwrap()
            .unwrap();
        assert_eq!(
            serde_json::to_string(&doc.root.to_value()).unwrap(),
            r#"{"a":3,"b":2}"#
        );
        assert_eq!(doc.warnings.len(), 1);
        assert_eq!(doc.warnings[0].line, 3);
        assert!(doc.warnings[0].message.contains("'a'"));
    }

    #[test]
    fn non_string_keys_print_as_json_dumps_would() {
        // As `ansible-inventory --list` prints these keys.
        let v = load_ok(
            "k:\n  1: a\n  null: c\n  1.5: d\n  .inf: e\n  0x10: f\n  false: g\n  1.0e+20: h\n",
        );
        let keys: Vec<&String> = v["k"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["1", "null", "1.5", "Infinity", "16", "false", "1e+20"]
        );
        let doc = load_document(path(), "1: a\n").unwrap().unwrap();
        assert_eq!(doc.root.as_map().unwrap()["1"].key_type, ScalarType::Int);
    }

    #[test]
    fn collection_keys_are_errors() {
        assert_eq!(load_err("a: 1\n? [1, 2]\n: x\n").0, 2);
        assert_eq!(load_err("{a: 1}: x\n").0, 1);
        assert_eq!(load_err("l: &l [1]\nm:\n  *l : x\n").0, 3);
    }

    #[test]
    fn lines_are_recorded_for_nodes_and_keys() {
        let doc = load_document(
            path(),
            "# comment\nall:\n  hosts:\n    web1:\n\n    web2: {a: 1}\n",
        )
        .unwrap()
        .unwrap();
        let all = &doc.root.as_map().unwrap()["all"];
        assert_eq!(all.key_line, 2);
        let hosts = &all.value.as_map().unwrap()["hosts"];
        assert_eq!(hosts.key_line, 3);
        let host_map = hosts.value.as_map().unwrap();
        assert_eq!(host_map["web1"].key_line, 4);
        assert_eq!(host_map["web2"].key_line, 6);
        assert_eq!(host_map["web2"].value.line, 6);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let (line, message) = load_err("a: 1\nb: [1, 2\nc: 3\n");
        assert!(line >= 2, "{line}: {message}");
        assert!(message.starts_with("invalid YAML"), "{message}");
        let (line, _) = load_err("a: 1\n  b: 2\n");
        assert_eq!(line, 2);
        let (line, _) = load_err("a: *missing\n");
        assert_eq!(line, 1);
    }

    #[test]
    fn byte_order_marks_and_control_characters() {
        assert_eq!(load_ok("\u{feff}a: 1\n"), json!({"a": 1}));
        let (line, message) = load_err("a: 1\nb: \u{1}\n");
        assert_eq!(line, 2);
        assert!(message.contains("#x0001"), "{message}");
        assert_eq!(
            load_ok("a: \"tab\there\"\nb: caf\u{e9}\n"),
            json!({"a": "tab\there", "b": "caf\u{e9}"})
        );
    }

    #[test]
    fn a_second_document_is_an_error() {
        let (line, message) = load_err("a: 1\n---\nb: 2\n");
        assert_eq!(line, 2);
        assert!(message.contains("single YAML document"), "{message}");
        assert!(load(path(), "---\na: 1\n...\n").unwrap().is_some());
    }

    #[test]
    fn empty_documents_are_none() {
        for text in [
            "",
            "\n\n",
            "# just a comment\n",
            "---\n",
            "~\n",
            "null",
            "---\n...\n",
        ] {
            assert_eq!(load(path(), text).unwrap(), None, "{text:?}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(load(path(), &deep).is_err());
        // Block nesting (yaml-rust2 itself stops flow nesting at 255).
        let ok = format!("{}1\n", "- ".repeat(MAX_DEPTH));
        assert!(load(path(), &ok).is_ok());
        let too_deep = format!("a: 1\nb:\n{}1\n", "- ".repeat(MAX_DEPTH));
        let (line, message) = load_err(&too_deep);
        assert_eq!(line, 3);
        assert!(message.contains("deeper than 256"), "{message}");
        // Aliases cannot be used to stack nesting beyond the limit either.
        let half = MAX_DEPTH / 2 + 10;
        let text = format!(
            "a: &a {}1{}\nb: {}*a{}\n",
            "[".repeat(half),
            "]".repeat(half),
            "[".repeat(half),
            "]".repeat(half)
        );
        assert_eq!(load_err(&text).0, 2);
    }

    #[test]
    fn recursive_aliases_and_alias_bombs_are_errors() {
        assert_eq!(load_err("a: &a [1, *a]\n").0, 1);
        let mut bomb = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            bomb.push_str(&format!("l{i}: &l{i} [*l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}, *l{prev}]\n"));
        }
        let (_, message) = load_err(&bomb);
        assert!(message.contains("aliases expand"), "{message}");
    }

    #[test]
    fn json_is_tried_first() {
        // JSON typing, not YAML 1.1: 1e5 is a float here, "yes" a string.
        let v = load_ok(r#"{"a": 1e5, "b": "yes", "c": [true, null], "d": {"e": 1}}"#);
        assert_eq!(
            v,
            json!({"a": 100000.0, "b": "yes", "c": [true, null], "d": {"e": 1}})
        );
        let v = load_ok(r#"{"a":1,"a":2,"b":3}"#);
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"a":2,"b":3}"#);
        // Ansible's JSON markers.
        let v =
            load_ok(r#"{"u": {"__ansible_unsafe": "{{ x }}"}, "v": {"__ansible_vault": "abc"}}"#);
        assert_eq!(v, json!({"u": "{{ x }}", "v": {"__ansible_vault": "abc"}}));
        // A marker with a non-string value is not Ansible JSON; YAML reads it.
        let v = load_ok(r#"{"u": {"__ansible_unsafe": 1}}"#);
        assert_eq!(v, json!({"u": {"__ansible_unsafe": 1}}));
    }

    #[test]
    fn json_keeps_line_numbers() {
        let doc = load_document(
            path(),
            "{\n  \"all\": {\n    \"hosts\": {\"h1\": null}\n  }\n}\n",
        )
        .unwrap()
        .unwrap();
        let all = &doc.root.as_map().unwrap()["all"];
        assert_eq!(all.key_line, 2);
        assert_eq!(all.value.as_map().unwrap()["hosts"].key_line, 3);
    }

    #[test]
    fn node_helpers_follow_python() {
        let doc = load_document(path(), "a: []\nb: 0\nc: ''\nd: x\ne: {k: 1}\nf: 0.0\n")
            .unwrap()
            .unwrap();
        let map = doc.root.as_map().unwrap();
        let truthy: Vec<bool> = map.values().map(|e| e.value.is_truthy()).collect();
        assert_eq!(truthy, [false, false, false, true, true, false]);
        assert_eq!(map["a"].value.python_type(), "list");
        assert_eq!(map["e"].value.python_type(), "dict");
        assert_eq!(ScalarType::Bool.python_str("true"), "True");
        assert_eq!(ScalarType::Null.python_str("null"), "None");
        assert!(!ScalarType::Int.key_is_truthy("0"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// The parser and builder never panic, whatever the input
        /// (called without the catch_unwind safety net).
        #[test]
        fn never_panics(text in "[-:?!&*|>'\"{}\\[\\],#%@` \\nab01.~<=\\t]{0,60}") {
            let _ = Builder::new(path(), Mode::Yaml).run(&text);
            let _ = Builder::new(path(), Mode::Json).run(&text);
        }
    }
}
