//! The console's settings from files: `$XDG_CONFIG_HOME/jobdeck/config.toml`
//! (`[tui] theme = "light"`, `mouse = false`), `keymap.toml` beside it, and
//! theme files in `themes/` beside it. A broken file never stops the
//! console: it is reported as a warning and the built-in default is used.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::keymap::{Keymap, line_of};
use super::theme::Theme;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    tui: TuiSection,
    // Read by the run commands (src/config.rs, the guard's rules).
    #[serde(default, rename = "guard")]
    _guard: Option<toml::Value>,
    #[serde(default, rename = "limits")]
    _limits: Option<toml::Value>,
    #[serde(default, rename = "notify")]
    _notify: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TuiSection {
    theme: Option<String>,
    mouse: Option<bool>,
}

/// Everything read from disk before the console starts.
pub struct Settings {
    pub theme: Theme,
    pub keymap: Keymap,
    pub mouse: bool,
    /// Problems to show in the status line.
    pub warnings: Vec<String>,
}

/// `$XDG_CONFIG_HOME/jobdeck` (or the platform's equivalent).
pub fn default_config_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.config_dir().join("jobdeck"))
}

impl Settings {
    /// Reads the config directory. `theme` (from `--theme`) wins over the
    /// config file; `keymap` names a keymap file other than the default one.
    /// Reads files: call it off the UI task.
    pub fn load(
        config_dir: Option<&Path>,
        theme: Option<&str>,
        keymap: Option<&Path>,
        mouse: Option<bool>,
    ) -> Settings {
        let mut warnings = Vec::new();
        let config = config_dir
            .map(|dir| dir.join("config.toml"))
            .filter(|p| p.is_file())
            .and_then(|path| match read_config(&path) {
                Ok(config) => Some(config),
                Err(e) => {
                    warnings.push(format!("{e}; ignoring the config file"));
                    None
                }
            })
            .unwrap_or_default();

        let requested = theme.map(str::to_string).or(config.tui.theme);
        let theme_dir = config_dir.map(|dir| dir.join("themes"));
        let choice = Theme::choose(requested.as_deref(), theme_dir.as_deref());
        warnings.extend(choice.warning);

        let keymap_path = keymap
            .map(Path::to_path_buf)
            .or_else(|| config_dir.map(|dir| dir.join("keymap.toml")))
            .filter(|p| keymap.is_some() || p.is_file());
        let keymap = match keymap_path {
            None => Keymap::builtin(),
            Some(path) => match std::fs::read_to_string(&path) {
                Err(e) => {
                    warnings.push(format!(
                        "cannot read keymap {}: {e}; using the built-in keys",
                        path.display()
                    ));
                    Keymap::builtin()
                }
                Ok(text) => Keymap::with_overrides(&text, &path).unwrap_or_else(|e| {
                    warnings.push(format!("keymap {e}; using the built-in keys"));
                    Keymap::builtin()
                }),
            },
        };

        Settings {
            theme: choice.theme,
            keymap,
            mouse: mouse.or(config.tui.mouse).unwrap_or(true),
            warnings,
        }
    }
}

fn read_config(path: &Path) -> Result<ConfigFile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let line = line_of(&text, e.span().map(|s| s.start).unwrap_or(0));
        format!("{}:{line}: {}", path.display(), e.message())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_chooses_theme_and_mouse_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "[tui]\ntheme = \"light\"\nmouse = false\n",
        )
        .unwrap();
        let settings = Settings::load(Some(dir.path()), None, None, None);
        assert_eq!(settings.theme.name, "light");
        assert!(!settings.mouse);
        assert!(settings.warnings.is_empty(), "{:?}", settings.warnings);
        let flagged = Settings::load(Some(dir.path()), Some("high-contrast"), None, Some(true));
        assert_eq!(flagged.theme.name, "high-contrast");
        assert!(flagged.mouse);
    }

    #[test]
    fn broken_files_become_warnings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), "[tui]\ntheme = 3\n").unwrap();
        std::fs::write(
            dir.path().join("keymap.toml"),
            "[global]\n\"q\" = \"quit\"\n\"Q\" = \"leave\"\n",
        )
        .unwrap();
        let settings = Settings::load(Some(dir.path()), None, None, None);
        assert_eq!(settings.theme.name, "dark");
        assert_eq!(settings.warnings.len(), 2, "{:?}", settings.warnings);
        assert!(
            settings.warnings[0].contains("config.toml:2:"),
            "{:?}",
            settings.warnings
        );
        assert!(
            settings.warnings[1].contains("keymap.toml:3: unknown action 'leave'"),
            "{:?}",
            settings.warnings
        );
        assert!(settings.warnings[1].ends_with("using the built-in keys"));
    }

    #[test]
    fn a_missing_explicit_keymap_is_reported() {
        let settings = Settings::load(None, None, Some(Path::new("/nonexistent/keys.toml")), None);
        assert!(settings.warnings[0].starts_with("cannot read keymap /nonexistent/keys.toml"));
    }
}
