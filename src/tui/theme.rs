//! Colour themes, named by meaning. The built-in themes are the files in
//! `themes/`, embedded in the binary. A theme file names a `base` theme
//! (default: dark) and overrides only the colours and glyphs it lists; a
//! file with an error yields the default theme and a warning to show.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use indexmap::IndexMap;
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

use super::keymap::line_of;
use crate::input_file::{self, InputError};

pub const DEFAULT_THEME: &str = "dark";

/// Built-in themes by name, as shipped in `themes/`.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// Declares the theme's named slots once: the struct fields, their file
/// keys, and the lookup used when a file sets one.
macro_rules! slots {
    ($name:ident, $ty:ty, $lookup:ident, $keys:ident { $($field:ident),* $(,)? }) => {
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name {
            $(pub $field: $ty,)*
        }

        impl $name {
            pub const $keys: &'static [&'static str] = &[$(stringify!($field)),*];

            fn $lookup(&mut self, key: &str) -> Option<&mut $ty> {
                match key {
                    $(stringify!($field) => Some(&mut self.$field),)*
                    _ => None,
                }
            }
        }
    };
}

slots!(
    Colors,
    Color,
    slot,
    KEYS {
        background,
        text,
        muted,
        title,
        accent,
        border,
        border_focused,
        selection_bg,
        selection_fg,
        selected,
        matched,
        ok,
        failed,
        running,
        pending,
        connecting,
        skipped,
        timed_out,
        unreachable,
        rolled_back,
        stderr,
        warning,
        error,
        info,
        status_bg,
        tab_active_bg,
        tab_active_fg,
    }
);

slots!(
    Glyphs,
    String,
    slot,
    KEYS {
        ok,
        failed,
        running,
        pending,
        connecting,
        skipped,
        cancelled,
        timed_out,
        unreachable,
        rolled_back,
        paused,
        selected,
        unselected,
        partly_selected,
        expanded,
        collapsed,
        matched,
        warning,
        error,
        info,
    }
);

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub colors: Colors,
    pub glyphs: Glyphs,
}

/// The shape of a theme file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    base: Option<Spanned<String>>,
    #[serde(default)]
    colors: IndexMap<String, Spanned<String>>,
    #[serde(default)]
    glyphs: IndexMap<String, Spanned<String>>,
}

/// A theme problem, located in its file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ThemeError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// The result of choosing a theme: always a usable theme, and a warning
/// for the status line when the one asked for could not be used.
#[derive(Debug, Clone)]
pub struct ThemeChoice {
    pub theme: Theme,
    pub warning: Option<String>,
}

impl Theme {
    /// The default theme. Its file sets every slot, so it needs no base.
    pub fn default_theme() -> Theme {
        Theme::builtin(DEFAULT_THEME).expect("the default theme is built in")
    }

    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        let theme = if name == DEFAULT_THEME {
            Theme::from_complete(name, text)
        } else {
            Theme::parse(text, &format!("themes/{name}.toml"))
        };
        Some(theme.unwrap_or_else(|e| panic!("built-in theme {name}: {e}")))
    }

    /// The dark theme's file must set everything: it is the base of all.
    fn from_complete(name: &str, text: &str) -> Result<Theme, ThemeError> {
        let file = format!("themes/{name}.toml");
        let parsed = parse_file(text, &file)?;
        let mut theme = Theme {
            name: name.to_string(),
            colors: Colors::default(),
            glyphs: Glyphs::default(),
        };
        let missing: Vec<&str> = Colors::KEYS
            .iter()
            .filter(|k| !parsed.colors.contains_key(**k))
            .chain(
                Glyphs::KEYS
                    .iter()
                    .filter(|k| !parsed.glyphs.contains_key(**k)),
            )
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(ThemeError {
                file,
                line: 1,
                message: format!("missing keys: {}", missing.join(", ")),
            });
        }
        theme.overlay(&parsed, text, &file)?;
        Ok(theme)
    }

    /// A theme file over its base (a built-in name; dark when not given).
    pub fn parse(text: &str, file: &str) -> Result<Theme, ThemeError> {
        let parsed = parse_file(text, file)?;
        let mut theme = match &parsed.base {
            None => Theme::default_theme(),
            Some(base) if base.get_ref() == DEFAULT_THEME => Theme::default_theme(),
            Some(base) => {
                let name = base.get_ref();
                let known: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
                Theme::builtin(name).ok_or_else(|| ThemeError {
                    file: file.to_string(),
                    line: line_of(text, base.span().start),
                    message: format!(
                        "unknown base theme '{name}'; expected one of: {}",
                        known.join(", ")
                    ),
                })?
            }
        };
        theme.name = Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.to_string());
        theme.overlay(&parsed, text, file)?;
        Ok(theme)
    }

    fn overlay(&mut self, parsed: &ThemeFile, text: &str, file: &str) -> Result<(), ThemeError> {
        let located = |offset: usize, message: String| ThemeError {
            file: file.to_string(),
            line: line_of(text, offset),
            message,
        };
        for (key, value) in &parsed.colors {
            let offset = value.span().start;
            let slot = self.colors.slot(key).ok_or_else(|| {
                located(
                    offset,
                    format!(
                        "unknown colour '{key}'; known colours: {}",
                        Colors::KEYS.join(", ")
                    ),
                )
            })?;
            *slot = parse_color(value.get_ref()).map_err(|m| located(offset, m))?;
        }
        for (key, value) in &parsed.glyphs {
            let offset = value.span().start;
            let slot = self.glyphs.slot(key).ok_or_else(|| {
                located(
                    offset,
                    format!(
                        "unknown glyph '{key}'; known glyphs: {}",
                        Glyphs::KEYS.join(", ")
                    ),
                )
            })?;
            let glyph = value.get_ref();
            if glyph.chars().count() != 1 {
                return Err(located(
                    offset,
                    format!("glyph '{key}' must be one character, got \"{glyph}\""),
                ));
            }
            *slot = glyph.clone();
        }
        Ok(())
    }

    /// Chooses a theme from `--theme NAME|PATH` or the config file: a
    /// built-in name, a `NAME.toml` in the user's theme directory, or a
    /// path. A file that cannot be read at all (missing, not a regular
    /// file, over the input size limit) is an error; an unknown name or a
    /// file with a mistake falls back to the default with a warning. Reads
    /// files, so call it off the UI task.
    pub fn choose(
        requested: Option<&str>,
        user_theme_dir: Option<&Path>,
    ) -> Result<ThemeChoice, InputError> {
        let Some(requested) = requested.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok(ThemeChoice {
                theme: Theme::default_theme(),
                warning: None,
            });
        };
        if let Some(theme) = Theme::builtin(requested) {
            return Ok(ThemeChoice {
                theme,
                warning: None,
            });
        }
        let looks_like_path = requested.contains('/') || requested.ends_with(".toml");
        let path: Option<PathBuf> = if looks_like_path {
            Some(PathBuf::from(requested))
        } else {
            user_theme_dir
                .map(|dir| dir.join(format!("{requested}.toml")))
                .filter(|p| p.is_file())
        };
        let fallback = |warning: String| ThemeChoice {
            theme: Theme::default_theme(),
            warning: Some(format!("{warning}; using the {DEFAULT_THEME} theme")),
        };
        let Some(path) = path else {
            let known: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            return Ok(fallback(format!(
                "unknown theme '{requested}' (built in: {}; or give a path to a .toml file)",
                known.join(", ")
            )));
        };
        let bytes = input_file::read_bytes(&path, "theme")?;
        Ok(match input_file::decode(&path, "theme", bytes) {
            Err(e) => fallback(e.to_string()),
            Ok(text) => match Theme::parse(&text, &path.display().to_string()) {
                Ok(theme) => ThemeChoice {
                    theme,
                    warning: None,
                },
                Err(e) => fallback(format!("theme {e}")),
            },
        })
    }

    // Styles by meaning, so views never pick raw colours.

    pub fn text(&self) -> Style {
        Style::new().fg(self.colors.text)
    }

    pub fn muted(&self) -> Style {
        Style::new().fg(self.colors.muted)
    }

    pub fn title(&self) -> Style {
        Style::new()
            .fg(self.colors.title)
            .add_modifier(Modifier::BOLD)
    }

    pub fn accent(&self) -> Style {
        Style::new().fg(self.colors.accent)
    }

    pub fn border(&self, focused: bool) -> Style {
        Style::new().fg(if focused {
            self.colors.border_focused
        } else {
            self.colors.border
        })
    }

    pub fn selection(&self) -> Style {
        Style::new()
            .bg(self.colors.selection_bg)
            .fg(self.colors.selection_fg)
            .add_modifier(Modifier::BOLD)
    }

    pub fn fg(&self, color: Color) -> Style {
        Style::new().fg(color)
    }

    pub fn base(&self) -> Style {
        Style::new().bg(self.colors.background).fg(self.colors.text)
    }
}

fn parse_file(text: &str, file: &str) -> Result<ThemeFile, ThemeError> {
    toml::from_str(text).map_err(|e| ThemeError {
        file: file.to_string(),
        line: line_of(text, e.span().map(|s| s.start).unwrap_or(0)),
        message: format!("not a theme: {}", e.message()),
    })
}

/// `green`, `light-red`, `#rrggbb`, `0`..`255`, or `reset` (the terminal's own).
fn parse_color(text: &str) -> Result<Color, String> {
    Color::from_str(text.trim()).map_err(|_| {
        format!(
            "'{text}' is not a colour: expected a name (green, light-red, gray, reset...), \
             #rrggbb, or a number 0-255"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_load_and_differ() {
        let dark = Theme::default_theme();
        let light = Theme::builtin("light").unwrap();
        let contrast = Theme::builtin("high-contrast").unwrap();
        assert_eq!(dark.name, "dark");
        assert_eq!(light.name, "light");
        assert_ne!(dark.colors.text, light.colors.text);
        // Colour-blind safe: ok and failed differ by glyph, not only colour.
        assert_ne!(contrast.glyphs.ok, contrast.glyphs.failed);
        assert_ne!(contrast.colors.ok, contrast.colors.failed);
    }

    #[test]
    fn a_user_theme_overrides_only_what_it_names() {
        let text = "base = \"light\"\n[colors]\nok = \"#00ff00\"\n[glyphs]\nselected = \"*\"\n";
        let theme = Theme::parse(text, "/home/me/mine.toml").unwrap();
        let light = Theme::builtin("light").unwrap();
        assert_eq!(theme.name, "mine");
        assert_eq!(theme.colors.ok, Color::Rgb(0, 255, 0));
        assert_eq!(theme.glyphs.selected, "*");
        assert_eq!(theme.colors.failed, light.colors.failed);
        assert_eq!(theme.colors.text, light.colors.text);
        // Without a base, the dark theme is underneath.
        let over_dark = Theme::parse("[colors]\nmuted = \"gray\"\n", "x.toml").unwrap();
        assert_eq!(over_dark.colors.text, Theme::default_theme().colors.text);
        assert_eq!(over_dark.colors.muted, Color::Gray);
    }

    #[test]
    fn errors_name_file_and_line() {
        let cases = [
            (
                "[colors]\nok = \"green\"\nfailed = \"blood\"\n",
                "t.toml:3: 'blood' is not a colour",
            ),
            (
                "[colors]\n\nokk = \"green\"\n",
                "t.toml:3: unknown colour 'okk'",
            ),
            (
                "[glyphs]\nok = \"OK\"\n",
                "t.toml:2: glyph 'ok' must be one character",
            ),
            ("base = \"neon\"\n", "t.toml:1: unknown base theme 'neon'"),
            ("[colors]\nok = \n", "t.toml:2: not a theme"),
            ("[colours]\nok = \"red\"\n", "t.toml:1: not a theme"),
        ];
        for (text, expected) in cases {
            let err = Theme::parse(text, "t.toml").unwrap_err().to_string();
            assert!(err.starts_with(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_broken_file_falls_back_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.toml");
        std::fs::write(&path, "[colors]\nok = \"#12\"\n").unwrap();
        let choice = Theme::choose(Some(path.to_str().unwrap()), None).unwrap();
        assert_eq!(choice.theme, Theme::default_theme());
        let warning = choice.warning.unwrap();
        assert!(
            warning.contains("broken.toml:2: '#12' is not a colour"),
            "{warning}"
        );
        assert!(warning.ends_with("using the dark theme"), "{warning}");
        // Not UTF-8: named at its line.
        std::fs::write(&path, b"[colors]\n# caf\xe9\nok = \"red\"\n").unwrap();
        let warning = Theme::choose(Some(path.to_str().unwrap()), None)
            .unwrap()
            .warning
            .unwrap();
        assert!(
            warning.contains("broken.toml:2: not UTF-8 text: byte 0xE9"),
            "{warning}"
        );
    }

    #[test]
    fn a_file_that_cannot_be_read_is_an_error() {
        for path in ["/dev/zero", "/nonexistent/x.toml"] {
            let e = Theme::choose(Some(path), None).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with(&format!("{path}: cannot read theme: ")),
                "{e}"
            );
        }
    }

    #[test]
    fn choose_finds_builtins_user_names_and_reports_unknown_names() {
        let choose = |name, dir| Theme::choose(name, dir).unwrap();
        assert_eq!(choose(Some("light"), None).theme.name, "light");
        assert!(choose(None, None).warning.is_none());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("ocean.toml"),
            "[colors]\naccent = \"cyan\"\n",
        )
        .unwrap();
        let ocean = choose(Some("ocean"), Some(dir.path()));
        assert!(ocean.warning.is_none());
        assert_eq!(ocean.theme.colors.accent, Color::Cyan);
        let unknown = choose(Some("sunset"), Some(dir.path()));
        assert!(
            unknown
                .warning
                .unwrap()
                .starts_with("unknown theme 'sunset'")
        );
    }
}
