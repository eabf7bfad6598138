//! A flow's typed params as form fields, shared by the Planner and the
//! Schedules form: one field per declared param, filled with a given value
//! or the default, checked with the param's own type rules.

use crate::flow::params::{ParamKind, ParamSpec};
use crate::tui::widgets::text_box::TextInput;

/// One param of the chosen flow and the value in the form.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamField {
    pub spec: ParamSpec,
    pub value: TextInput,
}

impl ParamField {
    /// The field for `spec`, holding `given` or else the default.
    pub fn new(spec: &ParamSpec, given: Option<&str>) -> ParamField {
        ParamField {
            value: TextInput::with_text(given.or(spec.default.as_deref()).unwrap_or("")),
            spec: spec.clone(),
        }
    }

    /// Bool and choice params are picked with ←/→, the others typed.
    pub fn is_choice(&self) -> bool {
        matches!(self.spec.kind, ParamKind::Bool | ParamKind::Choice(_))
    }

    /// The text to type into, for string and int params.
    pub fn input_mut(&mut self) -> Option<&mut TextInput> {
        (!self.is_choice()).then_some(&mut self.value)
    }

    /// ←/→ on a bool or choice param: the next (or previous) option; a
    /// value that is not an option moves to the first one.
    pub fn cycle(&mut self, forward: bool) {
        let options: Vec<String> = match &self.spec.kind {
            ParamKind::Bool => vec!["true".into(), "false".into()],
            ParamKind::Choice(choices) => choices.clone(),
            _ => return,
        };
        if options.is_empty() {
            return;
        }
        let n = options.len();
        let at = options
            .iter()
            .position(|o| o == self.value.text())
            .map(|i| {
                if forward {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                }
            })
            .unwrap_or(0);
        self.value = TextInput::with_text(&options[at]);
    }

    /// Why the value would not run: missing while required, or not of
    /// the param's type.
    pub fn problem(&self) -> Option<String> {
        self.spec.value_problem(self.value.text())
    }

    /// The value as the screen may show it (secrets masked).
    pub fn shown(&self) -> String {
        if self.spec.secret && !self.value.is_empty() {
            "•••".into()
        } else {
            self.value.text().to_string()
        }
    }
}

/// A field per declared param; `given` values (by name, the last one
/// wins, as on the command line) replace defaults.
pub fn fields_for(specs: &[ParamSpec], given: &[(String, String)]) -> Vec<ParamField> {
    specs
        .iter()
        .map(|spec| {
            let value = given
                .iter()
                .rev()
                .find(|(name, _)| *name == spec.name)
                .map(|(_, v)| v.as_str());
            ParamField::new(spec, value)
        })
        .collect()
}

/// The values typed in, as `NAME=VALUE` pairs (empty fields left out).
pub fn given(fields: &[ParamField]) -> Vec<(String, String)> {
    fields
        .iter()
        // An empty field is not given, unless empty is a value the param takes.
        .filter(|f| !f.value.is_empty() || f.spec.allow_empty)
        .map(|f| (f.spec.name.clone(), f.value.text().to_string()))
        .collect()
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
    fn values_are_checked_by_type() {
        let mut version = spec("version", ParamKind::String);
        version.required = true;
        let mut grace = spec("grace", ParamKind::Int);
        grace.default = Some("30".into());
        let fields = fields_for(&[version, grace], &[]);
        assert_eq!(fields[0].problem().as_deref(), Some("required"));
        assert_eq!(fields[1].value.text(), "30", "the default is shown");
        assert_eq!(fields[1].problem(), None);

        let mut grace = fields[1].clone();
        grace.value = TextInput::with_text("soon");
        assert!(grace.problem().unwrap().contains("expects an integer"));
        grace.value = TextInput::default();
        assert_eq!(grace.problem(), None, "empty: the default applies");
    }

    #[test]
    fn given_values_replace_defaults_and_choices_cycle() {
        let mut channel = spec(
            "channel",
            ParamKind::Choice(vec!["stable".into(), "beta".into()]),
        );
        channel.default = Some("stable".into());
        let verbose = spec("verbose", ParamKind::Bool);
        let mut fields = fields_for(
            &[channel, verbose],
            &[
                ("channel".into(), "stable".into()),
                ("channel".into(), "beta".into()),
            ],
        );
        assert_eq!(fields[0].value.text(), "beta", "the last value wins");
        fields[0].cycle(true);
        assert_eq!(fields[0].value.text(), "stable");
        fields[0].cycle(false);
        assert_eq!(fields[0].value.text(), "beta");
        assert!(fields[1].value.is_empty());
        fields[1].cycle(true);
        assert_eq!(fields[1].value.text(), "true");
        fields[1].cycle(true);
        assert_eq!(fields[1].value.text(), "false");
        assert!(fields[1].input_mut().is_none(), "a bool is not typed");
        assert_eq!(
            given(&fields),
            [
                ("channel".to_string(), "beta".to_string()),
                ("verbose".into(), "false".into())
            ]
        );
    }

    #[test]
    fn secrets_are_masked() {
        let mut token = spec("token", ParamKind::String);
        token.secret = true;
        let field = ParamField::new(&token, Some("hunter2"));
        assert_eq!(field.shown(), "•••");
    }
}
