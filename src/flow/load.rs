//! Reads flow and atom files: YAML with line numbers (the same YAML 1.1
//! loader the inventory uses), checked field by field so that every
//! problem is reported at its line, not only the first.

use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value;

use super::atom_library::{AtomLibrary, LookupError};
use super::params::{self, ParamKind, ParamSpec, is_env_name};
use super::{Flow, FlowError, FlowErrors, FlowPreflight, RolloutSpec, Step, StepKind};
use crate::duration::{DurationError, parse_duration, parse_timeout};
use crate::engine::OnFailure;
use crate::inventory::InventoryError;
use crate::inventory::yaml11::{self, Entry, Node, NodeKind};
use crate::rollout::BatchExpr;
use crate::transport::Manners;

/// Collects problems while walking a document.
pub(crate) struct Reader {
    pub path: PathBuf,
    /// Added to every line (an atom's header starts inside its script).
    pub line_offset: usize,
    pub errors: Vec<FlowError>,
}

impl Reader {
    pub fn new(path: &Path, line_offset: usize) -> Self {
        Reader {
            path: path.to_path_buf(),
            line_offset,
            errors: Vec::new(),
        }
    }

    pub fn error(&mut self, line: usize, message: impl Into<String>) {
        self.errors
            .push(FlowError::new(&self.path, line + self.line_offset, message));
    }

    /// Parses YAML text; `None` (with an error) if it is not a mapping.
    pub fn document(&mut self, text: &str, what: &str) -> Option<Node> {
        match yaml11::load_document(&self.path, text) {
            Ok(Some(doc)) if doc.root.as_map().is_some() => Some(doc.root),
            Ok(Some(doc)) => {
                self.error(
                    doc.root.line,
                    format!("{what} must be a YAML mapping of keys to values"),
                );
                None
            }
            Ok(None) => {
                self.error(1, format!("{what} is empty"));
                None
            }
            Err(InventoryError::At { line, message, .. }) => {
                self.error(line, message);
                None
            }
            // The path is this file's: the error gets it once, from `error`.
            Err(InventoryError::File { message, .. } | InventoryError::Msg(message)) => {
                self.error(1, message);
                None
            }
        }
    }

    pub fn text(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.kind {
            NodeKind::Scalar(value, _) => match params::scalar_text(value) {
                Some(text) => Some(text),
                None => {
                    self.error(node.line, format!("{what} must be text, not empty"));
                    None
                }
            },
            _ => {
                self.error(
                    node.line,
                    format!("{what} must be text, not a list or mapping"),
                );
                None
            }
        }
    }

    pub fn map<'a>(&mut self, node: &'a Node, what: &str) -> Option<&'a IndexMap<String, Entry>> {
        match &node.kind {
            NodeKind::Map(map) => Some(map),
            NodeKind::Scalar(Value::Null, _) => None,
            _ => {
                self.error(
                    node.line,
                    format!("{what} must be a mapping (key: value lines)"),
                );
                None
            }
        }
    }

    pub fn list<'a>(&mut self, node: &'a Node, what: &str) -> Option<&'a [Node]> {
        match &node.kind {
            NodeKind::Seq(items) => Some(items),
            NodeKind::Scalar(Value::Null, _) => Some(&[]),
            _ => {
                self.error(
                    node.line,
                    format!("{what} must be a list (lines starting with '- ')"),
                );
                None
            }
        }
    }

    pub fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match &node.kind {
            NodeKind::Scalar(Value::Bool(b), _) => Some(*b),
            _ => {
                self.error(node.line, format!("{what} must be true or false"));
                None
            }
        }
    }

    pub fn count(&mut self, node: &Node, what: &str) -> Option<u64> {
        match &node.kind {
            NodeKind::Scalar(Value::Number(n), _) if n.as_u64().is_some() => n.as_u64(),
            _ => {
                self.error(node.line, format!("{what} must be a whole number ≥ 0"));
                None
            }
        }
    }

    pub fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        self.parsed_duration(node, what, parse_duration)
    }

    /// A duration that must be more than zero.
    pub fn timeout(&mut self, node: &Node, what: &str) -> Option<Duration> {
        self.parsed_duration(node, what, parse_timeout)
    }

    fn parsed_duration(
        &mut self,
        node: &Node,
        what: &str,
        parse: fn(&str) -> Result<Duration, DurationError>,
    ) -> Option<Duration> {
        let text = self.text(node, what)?;
        match parse(&text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(node.line, format!("{what}: {e}"));
                None
            }
        }
    }

    /// Flags keys that are not in `known`.
    pub fn only_keys(&mut self, map: &IndexMap<String, Entry>, known: &[&str], what: &str) {
        for (key, entry) in map {
            if !known.contains(&key.as_str()) {
                self.error(
                    entry.key_line,
                    format!(
                        "unknown key '{key}' in {what}; expected one of: {}",
                        known.join(", ")
                    ),
                );
            }
        }
    }
}

/// Typed params: `NAME: {type, default, required, secret, choices, description}`.
pub(crate) fn read_params(r: &mut Reader, node: &Node, what: &str) -> Vec<ParamSpec> {
    let Some(map) = r.map(node, what) else {
        return Vec::new();
    };
    let mut specs = Vec::new();
    for (name, entry) in map {
        let line = entry.key_line;
        if !is_env_name(name) || name.starts_with("JOBDECK_") {
            r.error(
                line,
                format!(
                    "param name '{name}' must be a valid environment variable name \
                     (letters, digits, '_') and not start with JOBDECK_"
                ),
            );
            continue;
        }
        let mut spec = ParamSpec {
            name: name.clone(),
            kind: ParamKind::String,
            default: None,
            required: false,
            allow_empty: false,
            secret: false,
            description: None,
            line,
        };
        let Some(fields) = r.map(&entry.value, &format!("param '{name}'")) else {
            specs.push(spec);
            continue;
        };
        r.only_keys(
            fields,
            &[
                "type",
                "default",
                "required",
                "allow_empty",
                "secret",
                "choices",
                "description",
            ],
            &format!("param '{name}'"),
        );
        let mut choices = None;
        if let Some(c) = fields.get("choices")
            && let Some(items) = r.list(&c.value, "choices")
        {
            choices = Some(
                items
                    .iter()
                    .filter_map(|i| r.text(i, "a choice"))
                    .collect::<Vec<_>>(),
            );
        }
        if let Some(t) = fields.get("type") {
            match r.text(&t.value, "type").as_deref() {
                Some("string" | "str") => spec.kind = ParamKind::String,
                Some("int" | "integer") => spec.kind = ParamKind::Int,
                Some("bool" | "boolean") => spec.kind = ParamKind::Bool,
                Some("choice") => spec.kind = ParamKind::Choice(Vec::new()),
                Some(other) => r.error(
                    t.value.line,
                    format!("param '{name}': unknown type '{other}'; expected string, int, bool or choice"),
                ),
                None => {}
            }
        }
        match (&spec.kind, choices) {
            (ParamKind::Choice(_) | ParamKind::String, Some(choices)) if !choices.is_empty() => {
                spec.kind = ParamKind::Choice(choices);
            }
            (ParamKind::Choice(_), _) => {
                r.error(
                    line,
                    format!("param '{name}' is a choice but lists no choices"),
                );
            }
            (_, Some(_)) => r.error(line, format!("param '{name}': choices need type choice")),
            _ => {}
        }
        if let Some(v) = fields.get("required") {
            spec.required = r.bool(&v.value, "required").unwrap_or(false);
        }
        if let Some(v) = fields.get("allow_empty") {
            spec.allow_empty = r.bool(&v.value, "allow_empty").unwrap_or(false);
        }
        if let Some(v) = fields.get("secret") {
            spec.secret = r.bool(&v.value, "secret").unwrap_or(false);
        }
        if let Some(v) = fields.get("description") {
            spec.description = r.text(&v.value, "description");
        }
        if let Some(v) = fields.get("default")
            && let Some(default) = r.text(&v.value, "default")
        {
            if spec.secret {
                r.error(
                    v.value.line,
                    format!("param '{name}' is secret: it cannot have a default in a file"),
                );
            } else {
                match spec.check(&default) {
                    Ok(d) => spec.default = Some(d),
                    Err(e) => r.error(v.value.line, e),
                }
            }
        }
        specs.push(spec);
    }
    specs
}

const FLOW_KEYS: &[&str] = &[
    "name",
    "description",
    "targets",
    "params",
    "rollout",
    "steps",
    "rollback",
    "atoms",
    "preflight",
    "lock",
    "nice",
    "ionice",
    "notify",
];
const STEP_KEYS: &[&str] = &[
    "name",
    "atom",
    "script",
    "command",
    "copy",
    "approval",
    "with",
    "args",
    "timeout",
    "retries",
    "retry_interval",
    "on_failure",
    "targets",
    "nice",
    "ionice",
];

/// Loads a flow and the atoms it uses, checking everything; all problems
/// come back together, in file order.
pub fn load_flow(path: &Path) -> Result<Flow, FlowErrors> {
    let source =
        crate::input_file::read_text(path, "flow file").map_err(|e| FlowErrors(vec![e.into()]))?;
    finish(path, source, None)
}

/// A flow as it was recorded: its text and its atoms' bodies by name, so a
/// resumed or rerun instance runs exactly what ran before, whatever the
/// files say now.
pub fn load_flow_snapshot(
    path: &Path,
    source: String,
    atoms: &[(String, String)],
) -> Result<Flow, FlowErrors> {
    finish(path, source, Some(atoms))
}

fn finish(
    path: &Path,
    source: String,
    snapshot: Option<&[(String, String)]>,
) -> Result<Flow, FlowErrors> {
    let mut r = Reader::new(path, 0);
    let flow = read_flow(&mut r, path, source, snapshot);
    r.errors
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    match flow {
        Some(flow) if r.errors.is_empty() => Ok(flow),
        _ => Err(FlowErrors(r.errors)),
    }
}

fn read_flow(
    r: &mut Reader,
    path: &Path,
    source: String,
    snapshot: Option<&[(String, String)]>,
) -> Option<Flow> {
    let root = r.document(&source, "a flow file")?;
    let map = root.as_map().expect("document() returns mappings");
    r.only_keys(map, FLOW_KEYS, "a flow");
    let name = match map.get("name") {
        Some(e) => r.text(&e.value, "name").unwrap_or_default(),
        None => {
            r.error(1, "a flow needs a name: (e.g. name: deploy)");
            String::new()
        }
    };
    let description = map
        .get("description")
        .and_then(|e| r.text(&e.value, "description"));
    let targets = map.get("targets").and_then(|e| r.text(&e.value, "targets"));
    let params = map
        .get("params")
        .map(|e| read_params(r, &e.value, "params"))
        .unwrap_or_default();
    let rollout = map
        .get("rollout")
        .map(|e| read_rollout(r, &e.value))
        .unwrap_or_default();

    let dir = path.parent().unwrap_or(Path::new("."));
    let atom_dirs: Vec<PathBuf> = match map.get("atoms") {
        Some(e) => r
            .text(&e.value, "atoms")
            .map(|d| vec![dir.join(d)])
            .unwrap_or_default(),
        None => vec![dir.join("atoms"), dir.join("..").join("atoms")],
    };
    let mut library = AtomLibrary::new(atom_dirs);
    if let Some(atoms) = snapshot {
        library.snapshot = Some(atoms.to_vec());
    }
    let param_names: Vec<String> = params.iter().map(|p| p.name.clone()).collect();
    let mut ctx = StepContext {
        dir,
        library: &mut library,
        param_names: &param_names,
    };
    let steps = match map.get("steps") {
        Some(e) => {
            // Only a list with nothing in it: steps that failed to read
            // were reported each at its own line.
            if is_empty_list(&e.value) {
                r.error(
                    e.key_line,
                    "steps: is empty; a flow needs at least one step",
                );
            }
            read_steps(r, &e.value, &mut ctx, "steps")
        }
        None => {
            r.error(
                1,
                "a flow needs steps: (a list of atoms, scripts, commands, copies or approvals)",
            );
            Vec::new()
        }
    };
    let rollback = map
        .get("rollback")
        .map(|e| read_steps(r, &e.value, &mut ctx, "rollback"))
        .unwrap_or_default();
    if map.get("rollback").is_none_or(|e| is_empty_list(&e.value)) {
        for step in &steps {
            if step.on_failure == OnFailure::Rollback {
                r.error(
                    step.line,
                    format!(
                        "step '{}' has on_failure: rollback, but the flow has no rollback: steps",
                        step.name
                    ),
                );
            }
        }
    }
    r.errors.extend(library.errors);
    let preflight = map
        .get("preflight")
        .map(|e| read_preflight(r, e, &param_names));
    let lock = map.get("lock").and_then(|e| {
        let name = r.text(&e.value, "lock")?;
        check_references(r, e.value.line, &name, &param_names);
        Some(name)
    });
    let manners = read_manners(r, map);
    let notify = map
        .get("notify")
        .map(|e| read_notify(r, &e.value))
        .unwrap_or_default();
    Some(Flow {
        name,
        description,
        path: path.to_path_buf(),
        source,
        targets,
        params,
        rollout,
        steps,
        rollback,
        preflight,
        lock,
        manners,
        notify,
    })
}

/// `preflight:` — a list of commands, or `{mode: strict, checks: [...]}`.
fn read_preflight(r: &mut Reader, entry: &Entry, params: &[String]) -> FlowPreflight {
    let mut preflight = FlowPreflight {
        line: entry.key_line,
        ..FlowPreflight::default()
    };
    let node = &entry.value;
    let checks = match &node.kind {
        NodeKind::Map(map) => {
            r.only_keys(map, &["mode", "checks"], "preflight");
            if let Some(e) = map.get("mode")
                && let Some(text) = r.text(&e.value, "preflight mode")
            {
                match text.parse() {
                    Ok(mode) => preflight.mode = Some(mode),
                    Err(e2) => r.error(e.value.line, e2),
                }
            }
            map.get("checks").map(|e| &e.value)
        }
        _ => Some(node),
    };
    if let Some(items) = checks.and_then(|n| r.list(n, "preflight checks")) {
        for item in items {
            if let Some(command) = r.text(item, "a pre-flight check") {
                check_references(r, item.line, &command, params);
                preflight.checks.push(command);
            }
        }
    }
    preflight
}

/// `nice:` (0-19) and `ionice:` (idle, best-effort[:N], N) of a flow or step.
fn read_manners(r: &mut Reader, map: &IndexMap<String, Entry>) -> Manners {
    let mut manners = Manners::default();
    if let Some(e) = map.get("nice") {
        let text = match &e.value.kind {
            NodeKind::Scalar(Value::Number(n), _) => Some(n.to_string()),
            _ => r.text(&e.value, "nice"),
        };
        match text.as_deref().map(crate::transport::manners::parse_nice) {
            Some(Ok(n)) => manners.nice = Some(n),
            Some(Err(err)) => r.error(e.value.line, err),
            None => {}
        }
    }
    if let Some(e) = map.get("ionice") {
        let text = match &e.value.kind {
            NodeKind::Scalar(Value::Number(n), _) => Some(n.to_string()),
            _ => r.text(&e.value, "ionice"),
        };
        match text.map(|t| t.parse::<crate::transport::IoClass>()) {
            Some(Ok(class)) => manners.ionice = Some(class),
            Some(Err(err)) => r.error(e.value.line, err),
            None => {}
        }
    }
    manners
}

/// `notify:` — a list of targets (`webhook: URL` or `command: CMD`, with
/// `on`, `after`, `headers`, `timeout`, `retries`, `backoff`).
fn read_notify(r: &mut Reader, node: &Node) -> Vec<crate::notify::Target> {
    use crate::notify::target::Field;
    let Some(items) = r.list(node, "notify") else {
        return Vec::new();
    };
    let mut targets = Vec::new();
    for item in items {
        let Some(map) = r.map(item, "a notify target") else {
            continue;
        };
        let mut fields = Vec::new();
        let mut lines = Vec::new();
        for (key, entry) in map {
            let field = match &entry.value.kind {
                NodeKind::Scalar(Value::Number(n), _) if n.as_u64().is_some() => {
                    Field::Number(n.as_u64().unwrap_or(0))
                }
                NodeKind::Seq(values) => Field::List(
                    values
                        .iter()
                        .filter_map(|v| r.text(v, &format!("{key} item")))
                        .collect(),
                ),
                NodeKind::Map(pairs) => Field::Map(
                    pairs
                        .iter()
                        .filter_map(|(k, v)| {
                            r.text(&v.value, &format!("{key}.{k}"))
                                .map(|t| (k.clone(), t))
                        })
                        .collect(),
                ),
                _ => match r.text(&entry.value, key) {
                    Some(text) => Field::Text(text),
                    None => continue,
                },
            };
            lines.push((key.clone(), entry.key_line));
            fields.push((key.clone(), field));
        }
        match crate::notify::Target::from_fields(&fields) {
            Ok(target) => targets.push(target),
            Err((key, message)) => {
                let line = lines
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or(item.line, |(_, l)| *l);
                r.error(line, format!("notify: {message}"));
            }
        }
    }
    targets
}

fn read_rollout(r: &mut Reader, node: &Node) -> RolloutSpec {
    let mut spec = RolloutSpec::default();
    let Some(map) = r.map(node, "rollout") else {
        return spec;
    };
    r.only_keys(
        map,
        &["batches", "interval", "mode", "max_fail", "forks", "order"],
        "rollout",
    );
    if let Some(e) = map.get("batches") {
        match BatchExpr::from_value(&e.value.to_value()) {
            Ok(b) => spec.batches = Some(b),
            Err(err) => r.error(e.value.line, format!("batches: {err}")),
        }
    }
    spec.interval = map
        .get("interval")
        .and_then(|e| r.duration(&e.value, "interval"));
    if let Some(e) = map.get("mode")
        && let Some(text) = r.text(&e.value, "mode")
    {
        match text.parse() {
            Ok(m) => spec.mode = Some(m),
            Err(err) => r.error(e.value.line, format!("mode: {err}")),
        }
    }
    if let Some(e) = map.get("max_fail")
        && let Some(text) = r.text(&e.value, "max_fail")
    {
        match text.parse() {
            Ok(m) => spec.max_fail = Some(m),
            Err(err) => r.error(e.value.line, format!("max_fail: {err}")),
        }
    }
    if let Some(e) = map.get("forks") {
        match r.count(&e.value, "forks") {
            Some(0) => r.error(e.value.line, "forks must be at least 1"),
            Some(n) => spec.forks = Some(n as usize),
            None => {}
        }
    }
    if let Some(e) = map.get("order")
        && let Some(text) = r.text(&e.value, "order")
    {
        match text.parse() {
            Ok(o) => spec.order = Some(o),
            Err(err) => r.error(e.value.line, format!("order: {err}")),
        }
    }
    spec
}

struct StepContext<'a> {
    dir: &'a Path,
    library: &'a mut AtomLibrary,
    param_names: &'a [String],
}

/// `key:` with nothing, or `key: []`.
fn is_empty_list(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Seq(items) => items.is_empty(),
        NodeKind::Scalar(Value::Null, _) => true,
        _ => false,
    }
}

fn read_steps(r: &mut Reader, node: &Node, ctx: &mut StepContext, what: &str) -> Vec<Step> {
    let Some(items) = r.list(node, what) else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| read_step(r, item, ctx, &format!("{what}[{}]", i + 1)))
        .collect()
}

fn read_step(r: &mut Reader, node: &Node, ctx: &mut StepContext, label: &str) -> Option<Step> {
    let map = r.map(node, label)?;
    r.only_keys(map, STEP_KEYS, &format!("step {label}"));
    let line = node.line;
    let actions: Vec<&str> = ["atom", "script", "command", "copy", "approval"]
        .into_iter()
        .filter(|k| map.contains_key(*k))
        .collect();
    let misspelt = map.keys().any(|k| !STEP_KEYS.contains(&k.as_str()));
    if actions.is_empty() && misspelt {
        // `comand: ls`: the unknown-key message (which lists the actions)
        // is the one problem.
        return None;
    }
    if actions.len() != 1 {
        r.error(
            line,
            format!(
                "step {label} needs exactly one of atom:, script:, command:, copy:, approval: (found {})",
                if actions.is_empty() { "none".to_string() } else { actions.join(", ") }
            ),
        );
        return None;
    }
    let action = actions[0];
    let value = &map[action].value;
    let args: Vec<String> = match map.get("args") {
        Some(e) => r
            .list(&e.value, "args")
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| r.text(i, "an argument"))
                    .collect()
            })
            .unwrap_or_default(),
        None => Vec::new(),
    };
    for arg in &args {
        check_references(
            r,
            map.get("args").map_or(line, |e| e.value.line),
            arg,
            ctx.param_names,
        );
    }
    let kind = match action {
        "atom" => {
            let name = r.text(value, "atom")?;
            let atom = match ctx.library.get(&name) {
                Ok(atom) => atom,
                // Its errors are reported at the atom file's lines.
                Err(LookupError::Broken) => return None,
                Err(LookupError::Missing(message)) => {
                    r.error(value.line, message);
                    return None;
                }
            };
            let mut with = Vec::new();
            if let Some(e) = map.get("with")
                && let Some(pairs) = r.map(&e.value, "with")
            {
                for (key, entry) in pairs {
                    let Some(text) = r.text(&entry.value, &format!("with.{key}")) else {
                        continue;
                    };
                    check_references(r, entry.value.line, &text, ctx.param_names);
                    match atom.params.iter().find(|p| &p.name == key) {
                        None => r.error(
                            entry.key_line,
                            format!(
                                "atom '{}' has no param '{key}' (it takes: {})",
                                atom.name,
                                atom.params
                                    .iter()
                                    .map(|p| p.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ),
                        // Values with ${...} are checked when the run fills them in.
                        Some(spec) if params::references(&text).is_empty() => {
                            if let Err(e) = spec.check(&text) {
                                r.error(entry.value.line, e);
                            }
                        }
                        Some(_) => {}
                    }
                    with.push((key.clone(), text));
                }
            }
            for spec in &atom.params {
                if spec.required
                    && spec.default.is_none()
                    && !with.iter().any(|(k, _)| k == &spec.name)
                {
                    r.error(
                        line,
                        format!(
                            "atom '{}' needs a value for param '{}' (with: {{{}: ...}})",
                            atom.name, spec.name, spec.name
                        ),
                    );
                }
            }
            StepKind::Atom { atom, with, args }
        }
        "script" => {
            let body = r.text(value, "script")?;
            StepKind::Script { body, args }
        }
        "command" => {
            let command = r.text(value, "command")?;
            check_references(r, value.line, &command, ctx.param_names);
            StepKind::Command { command }
        }
        "copy" => read_copy(r, value, ctx.dir)?,
        "approval" => StepKind::Approval {
            message: r.text(value, "approval")?,
        },
        _ => unreachable!("action names are fixed above"),
    };
    if map.contains_key("with") && !matches!(kind, StepKind::Atom { .. }) {
        r.error(
            map["with"].key_line,
            format!("step {label}: with: gives atom params; this step runs no atom"),
        );
    }
    let name = match map.get("name") {
        Some(e) => r.text(&e.value, "name").unwrap_or_default(),
        None => match &kind {
            StepKind::Atom { atom, .. } => atom.name.clone(),
            StepKind::Approval { .. } => "approval".into(),
            StepKind::Copy { dest, .. } => format!("copy to {dest}"),
            StepKind::Command { command } => shorten(command, 48),
            StepKind::Script { body, .. } => match body
                .lines()
                .find(|l| !l.starts_with("#!") && !l.trim().is_empty())
            {
                Some(first) => format!("script: {}", shorten(first.trim(), 40)),
                None => label.to_string(),
            },
        },
    };
    let default_timeout = match &kind {
        StepKind::Atom { atom, .. } => atom.timeout,
        _ => None,
    };
    let on_failure = match map.get("on_failure") {
        Some(e) => match r.text(&e.value, "on_failure").as_deref() {
            Some("stop") => OnFailure::Stop,
            Some("continue") => OnFailure::Continue,
            Some("keep-going") => OnFailure::KeepGoing,
            Some("rollback") => OnFailure::Rollback,
            Some(other) => {
                r.error(
                    e.value.line,
                    format!(
                        "on_failure '{other}': expected stop, continue, keep-going or rollback"
                    ),
                );
                OnFailure::Stop
            }
            None => OnFailure::Stop,
        },
        None => OnFailure::Stop,
    };
    let manners = read_manners(r, map);
    Some(Step {
        manners,
        name,
        line,
        timeout: map
            .get("timeout")
            .and_then(|e| r.timeout(&e.value, "timeout"))
            .or(default_timeout),
        retries: map
            .get("retries")
            .and_then(|e| r.count(&e.value, "retries"))
            .map_or(0, |n| n.min(100) as u32),
        retry_interval: map
            .get("retry_interval")
            .and_then(|e| r.duration(&e.value, "retry_interval"))
            .unwrap_or(Duration::from_secs(5)),
        on_failure,
        targets: map.get("targets").and_then(|e| r.text(&e.value, "targets")),
        kind,
    })
}

/// The first `max` characters of a line, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() <= max && !text.contains('\n') {
        line.to_string()
    } else {
        format!("{}…", line.chars().take(max).collect::<String>())
    }
}

fn check_references(r: &mut Reader, line: usize, text: &str, names: &[String]) {
    for name in params::references(text) {
        if !names.contains(&name) {
            r.error(
                line,
                format!(
                    "'${{{name}}}' names no flow param (params: {})",
                    names.join(", ")
                ),
            );
        }
    }
}

fn read_copy(r: &mut Reader, node: &Node, dir: &Path) -> Option<StepKind> {
    let map = r.map(node, "copy")?;
    r.only_keys(map, &["src", "dest", "mode"], "copy");
    let (Some(src), Some(dest)) = (map.get("src"), map.get("dest")) else {
        r.error(
            node.line,
            "copy needs src: (a local file or directory) and dest: (a path on the host)",
        );
        return None;
    };
    let src_text = r.text(&src.value, "src")?;
    let src_path = dir.join(&src_text);
    if !src_path.exists() {
        r.error(
            src.value.line,
            format!("copy src '{}' does not exist", src_path.display()),
        );
    }
    let dest = r.text(&dest.value, "dest")?;
    let mode = match map.get("mode") {
        Some(e) => {
            let text = r.text(&e.value, "mode")?;
            match u32::from_str_radix(text.trim_start_matches("0o"), 8) {
                Ok(m) if m <= 0o7777 => Some(m),
                _ => {
                    r.error(
                        e.value.line,
                        format!("mode '{text}' must be octal, like \"0644\" (quote it in YAML)"),
                    );
                    None
                }
            }
        }
        None => None,
    };
    Some(StepKind::Copy {
        src: src_path,
        dest,
        mode,
    })
}
