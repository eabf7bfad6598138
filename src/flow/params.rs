//! Typed params of flows and atoms, and the values a run gives them.

use serde_json::Value;

/// How a param's value is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamKind {
    String,
    Int,
    Bool,
    /// One of the listed values.
    Choice(Vec<String>),
}

impl ParamKind {
    pub fn name(&self) -> &'static str {
        match self {
            ParamKind::String => "string",
            ParamKind::Int => "int",
            ParamKind::Bool => "bool",
            ParamKind::Choice(_) => "choice",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    pub name: String,
    pub kind: ParamKind,
    pub default: Option<String>,
    pub required: bool,
    /// A required param may be given an empty value (`-p name=`); without
    /// it an empty value does not count as given.
    pub allow_empty: bool,
    /// Masked in the journal, on screen and in logs; scrubbed from output.
    pub secret: bool,
    pub description: Option<String>,
    pub line: usize,
}

impl ParamSpec {
    /// Why `text` would not do as this param's value in a form or a stored
    /// schedule: empty while required (with no default, and empty not
    /// allowed), or refused by the param's type.
    pub fn value_problem(&self, text: &str) -> Option<String> {
        if text.is_empty() {
            (self.required && self.default.is_none() && !self.allow_empty)
                .then(|| "required".to_string())
        } else {
            self.check(text).err()
        }
    }

    /// Checks one value against the param's type; returns it normalised
    /// (`yes` → `true`, ` 42 ` → `42`). An empty value of a required param
    /// is refused unless the param says `allow_empty: true`.
    pub fn check(&self, value: &str) -> Result<String, String> {
        if value.is_empty() && self.required && !self.allow_empty {
            return Err(format!(
                "param '{}' is required and was given an empty value \
                 (a flow that accepts one says allow_empty: true on the param)",
                self.name
            ));
        }
        let shown = |v: &str| {
            if self.secret {
                "***".to_string()
            } else {
                format!("'{v}'")
            }
        };
        match &self.kind {
            ParamKind::String => Ok(value.to_string()),
            ParamKind::Int => value
                .trim()
                .parse::<i64>()
                .map(|n| n.to_string())
                .map_err(|_| {
                    format!(
                        "param '{}' expects an integer, got {}",
                        self.name,
                        shown(value)
                    )
                }),
            ParamKind::Bool => match value.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok("true".into()),
                "false" | "no" | "off" | "0" => Ok("false".into()),
                _ => Err(format!(
                    "param '{}' expects true or false, got {}",
                    self.name,
                    shown(value)
                )),
            },
            ParamKind::Choice(choices) => {
                if choices.iter().any(|c| c == value) {
                    Ok(value.to_string())
                } else {
                    Err(format!(
                        "param '{}' must be one of {}, got {}",
                        self.name,
                        choices.join(", "),
                        shown(value)
                    ))
                }
            }
        }
    }
}

/// Param values for a run: given values checked, defaults filled in,
/// required ones insisted on. Unknown names are errors (a typo must not run
/// a deploy with a default version).
pub fn resolve(
    specs: &[ParamSpec],
    given: &[(String, String)],
) -> Result<Vec<(String, String)>, String> {
    let mut problems = Vec::new();
    for (name, _) in given {
        if !specs.iter().any(|s| &s.name == name) {
            let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            problems.push(format!(
                "unknown param '{name}' (this flow takes: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
        }
    }
    let mut values = Vec::new();
    for spec in specs {
        let value = given
            .iter()
            .rev()
            .find(|(n, _)| n == &spec.name)
            .map(|(_, v)| v.clone());
        match value.or_else(|| spec.default.clone()) {
            Some(v) => match spec.check(&v) {
                Ok(v) => values.push((spec.name.clone(), v)),
                Err(e) => problems.push(e),
            },
            None if spec.required => problems.push(format!(
                "param '{}' is required{}",
                spec.name,
                spec.description
                    .as_ref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            )),
            None => values.push((spec.name.clone(), String::new())),
        }
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems.join("; "))
    }
}

/// `${name}` in a step value, replaced by param values. `$$` is a literal `$`.
pub fn substitute(text: &str, values: &[(String, String)]) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unclosed '${{' in '{text}'"))?;
            let name = &body[..end];
            let value = values
                .iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| format!("'${{{name}}}' names no flow param"))?;
            out.push_str(&value.1);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The names `${...}` refers to in a text.
pub fn references(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            match body.find('}') {
                Some(end) => {
                    names.push(body[..end].to_string());
                    rest = &body[end + 1..];
                }
                None => break,
            }
        } else {
            rest = after;
        }
    }
    names
}

/// A YAML scalar as param text.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether a name can be an environment variable.
pub fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, kind: ParamKind) -> ParamSpec {
        ParamSpec {
            name: name.into(),
            kind,
            default: None,
            required: false,
            allow_empty: false,
            secret: false,
            description: None,
            line: 1,
        }
    }

    #[test]
    fn an_empty_value_of_a_required_param_is_refused_unless_allowed() {
        let mut version = spec("version", ParamKind::String);
        version.required = true;
        let err = resolve(
            std::slice::from_ref(&version),
            &[("version".into(), String::new())],
        )
        .unwrap_err();
        assert!(
            err.contains("'version' is required and was given an empty value"),
            "{err}"
        );
        assert!(err.contains("allow_empty: true"), "{err}");
        version.allow_empty = true;
        assert_eq!(
            resolve(&[version], &[("version".into(), String::new())]).unwrap(),
            vec![("version".to_string(), String::new())]
        );
        // An optional param may be empty anyway.
        let note = spec("note", ParamKind::String);
        assert!(resolve(&[note], &[("note".into(), String::new())]).is_ok());
    }

    #[test]
    fn values_are_typed_defaulted_and_required() {
        let mut version = spec("version", ParamKind::String);
        version.required = true;
        let mut grace = spec("grace", ParamKind::Int);
        grace.default = Some("30".into());
        let channel = spec(
            "channel",
            ParamKind::Choice(vec!["stable".into(), "beta".into()]),
        );
        let specs = vec![version, grace, channel];
        let got = resolve(
            &specs,
            &[
                ("version".into(), "1.2".into()),
                ("channel".into(), "beta".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                ("version".to_string(), "1.2".to_string()),
                ("grace".into(), "30".into()),
                ("channel".into(), "beta".into())
            ]
        );
        let err = resolve(
            &specs,
            &[("grace".into(), "x".into()), ("verison".into(), "1".into())],
        )
        .unwrap_err();
        assert!(err.contains("unknown param 'verison'"), "{err}");
        assert!(err.contains("'grace' expects an integer"), "{err}");
        assert!(err.contains("'version' is required"), "{err}");
        let err = resolve(
            &specs,
            &[
                ("version".into(), "1".into()),
                ("channel".into(), "nightly".into()),
            ],
        )
        .unwrap_err();
        assert!(err.contains("one of stable, beta"), "{err}");
    }

    #[test]
    fn secret_values_never_appear_in_errors() {
        let mut pin = spec("pin", ParamKind::Int);
        pin.secret = true;
        let err = resolve(&[pin], &[("pin".into(), "hunter2".into())]).unwrap_err();
        assert!(!err.contains("hunter2") && err.contains("***"), "{err}");
    }

    #[test]
    fn substitution() {
        let values = vec![("version".to_string(), "1.2".to_string())];
        assert_eq!(
            substitute("app-${version}.tgz costs $$5 $HOME", &values).unwrap(),
            "app-1.2.tgz costs $5 $HOME"
        );
        assert!(substitute("${nope}", &values).unwrap_err().contains("nope"));
        assert_eq!(references("a ${x} $${y} ${z}"), vec!["x", "z"]);
    }
}
