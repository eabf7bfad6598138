//! The console's settings from files: `$XDG_CONFIG_HOME/jobdeck/config.toml`
//! (`[tui] theme = "light"`, `mouse = false`), `keymap.toml` beside it, and
//! theme files in `themes/` beside it. A broken file never stops the
//! console: it is reported as a warning and the built-in default is used.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::keymap::{Keymap, line_of};
use super::theme::{DEFAULT_THEME, Theme, ThemeChoice};
use crate::duration::{format_duration, parse_duration};
use crate::input_file::{self, InputError};
use crate::preflight::{DEFAULT_WARM_CAP, DEFAULT_WARM_IDLE};
use crate::tui::run_store::OUTPUT_BUDGET_BYTES;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    tui: TuiSection,
    /// The journal's retention rules: `journal::retention` reads them.
    #[serde(default, rename = "retention")]
    _retention: Option<toml::Value>,
    // Read by the run commands (src/config.rs, the guard's rules).
    #[serde(default, rename = "guard")]
    _guard: Option<toml::Value>,
    #[serde(default, rename = "limits")]
    _limits: Option<toml::Value>,
    #[serde(default, rename = "notify")]
    _notify: Option<toml::Value>,
    #[serde(default, rename = "ssh")]
    _ssh: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TuiSection {
    theme: Option<String>,
    mouse: Option<bool>,
    /// How long a connection waits for the next run (`10m`).
    pool_idle: Option<String>,
    /// How many connections wait at most (0: none are kept).
    pool_max: Option<usize>,
    /// MiB of output a run's view keeps in memory over all its hosts.
    output_mib: Option<usize>,
}

/// Everything read from disk before the console starts.
#[derive(Debug)]
pub struct Settings {
    pub theme: Theme,
    pub keymap: Keymap,
    pub mouse: bool,
    /// Connections kept between runs: how long, how many.
    pub pool_idle: Duration,
    pub pool_max: usize,
    /// Output bytes a run's view keeps in memory, over all its hosts (the
    /// rest is read back from the journal when scrolled to).
    pub output_budget: usize,
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
    /// The one error is a `--theme` file that cannot be read at all (the
    /// console then does not start); every other problem is a warning.
    /// Reads files: call it off the UI task.
    pub fn load(
        config_dir: Option<&Path>,
        theme: Option<&str>,
        keymap: Option<&Path>,
        mouse: Option<bool>,
    ) -> Result<Settings, InputError> {
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

        let theme_dir = config_dir.map(|dir| dir.join("themes"));
        let choice = match theme {
            Some(flag) => Theme::choose(Some(flag), theme_dir.as_deref())?,
            None => Theme::choose(config.tui.theme.as_deref(), theme_dir.as_deref())
                .unwrap_or_else(|e| ThemeChoice {
                    theme: Theme::default_theme(),
                    warning: Some(format!("{e}; using the {DEFAULT_THEME} theme")),
                }),
        };
        warnings.extend(choice.warning);

        let keymap_path = keymap
            .map(Path::to_path_buf)
            .or_else(|| config_dir.map(|dir| dir.join("keymap.toml")))
            .filter(|p| keymap.is_some() || p.is_file());
        let keymap = match keymap_path {
            None => Keymap::builtin(),
            Some(path) => match input_file::read_text(&path, "keymap") {
                Err(e) => {
                    warnings.push(format!("{e}; using the built-in keys"));
                    Keymap::builtin()
                }
                Ok(text) => {
                    let (keymap, problems) = Keymap::with_overrides(&text, &path);
                    warnings.extend(problems.iter().map(|e| format!("keymap {e}")));
                    keymap
                }
            },
        };

        let pool_idle = match config.tui.pool_idle.as_deref().map(parse_duration) {
            None => DEFAULT_WARM_IDLE,
            Some(Ok(idle)) => idle,
            Some(Err(e)) => {
                warnings.push(format!(
                    "config [tui] pool_idle: {e}; keeping connections {}",
                    format_duration(DEFAULT_WARM_IDLE)
                ));
                DEFAULT_WARM_IDLE
            }
        };
        let output_budget = match config.tui.output_mib {
            None => OUTPUT_BUDGET_BYTES,
            Some(0) => {
                warnings.push(format!(
                    "config [tui] output_mib: 0 keeps no output; keeping {} MiB",
                    OUTPUT_BUDGET_BYTES >> 20
                ));
                OUTPUT_BUDGET_BYTES
            }
            Some(mib) => mib.saturating_mul(1024 * 1024),
        };
        Ok(Settings {
            pool_idle,
            output_budget,
            pool_max: config.tui.pool_max.unwrap_or(DEFAULT_WARM_CAP),
            theme: choice.theme,
            keymap,
            mouse: mouse.or(config.tui.mouse).unwrap_or(true),
            warnings,
        })
    }
}

fn read_config(path: &Path) -> Result<ConfigFile, String> {
    let text = input_file::read_text(path, "config file").map_err(|e| e.to_string())?;
    toml::from_str(&text).map_err(|e| {
        let line = line_of(&text, e.span().map(|s| s.start).unwrap_or(0));
        format!("{}:{line}: {}", path.display(), e.message())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(dir: Option<&Path>, theme: Option<&str>, keymap: Option<&Path>) -> Settings {
        Settings::load(dir, theme, keymap, None).unwrap()
    }

    #[test]
    fn config_file_chooses_theme_and_mouse_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "[tui]\ntheme = \"light\"\nmouse = false\n[retention]\ndays = 90\n",
        )
        .unwrap();
        let settings = load(Some(dir.path()), None, None);
        assert_eq!(settings.theme.name, "light");
        assert!(!settings.mouse);
        assert!(settings.warnings.is_empty(), "{:?}", settings.warnings);
        let flagged =
            Settings::load(Some(dir.path()), Some("high-contrast"), None, Some(true)).unwrap();
        assert_eq!(flagged.theme.name, "high-contrast");
        assert!(flagged.mouse);
    }

    #[test]
    fn the_output_budget_comes_from_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            load(Some(dir.path()), None, None).output_budget,
            OUTPUT_BUDGET_BYTES
        );
        std::fs::write(dir.path().join("config.toml"), "[tui]\noutput_mib = 64\n").unwrap();
        let settings = load(Some(dir.path()), None, None);
        assert_eq!(settings.output_budget, 64 << 20);
        assert!(settings.warnings.is_empty(), "{:?}", settings.warnings);
        std::fs::write(dir.path().join("config.toml"), "[tui]\noutput_mib = 0\n").unwrap();
        let settings = load(Some(dir.path()), None, None);
        assert_eq!(settings.output_budget, OUTPUT_BUDGET_BYTES);
        assert!(
            settings.warnings[0].contains("output_mib"),
            "{:?}",
            settings.warnings
        );
    }

    #[test]
    fn broken_files_become_warnings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), "[tui]\ntheme = 3\n").unwrap();
        std::fs::write(
            dir.path().join("keymap.toml"),
            "[global]\n\"Q\" = \"leave\"\n\"ctrl-q\" = \"quit\"\n",
        )
        .unwrap();
        let settings = load(Some(dir.path()), None, None);
        assert_eq!(settings.theme.name, "dark");
        assert_eq!(settings.warnings.len(), 2, "{:?}", settings.warnings);
        assert!(
            settings.warnings[0].contains("config.toml:2:"),
            "{:?}",
            settings.warnings
        );
        assert!(
            settings.warnings[1].contains("keymap.toml:2: unknown action 'leave'"),
            "{:?}",
            settings.warnings
        );
        assert!(settings.warnings[1].ends_with("the line is ignored"));
        // The keymap's good line applies.
        let ctrl_q = crate::tui::key::Key::parse("ctrl-q").unwrap();
        assert_eq!(
            settings
                .keymap
                .lookup(&[crate::tui::keymap::KeyContext::Global], &ctrl_q),
            Some(crate::tui::action::Action::Quit)
        );
    }

    #[test]
    fn a_missing_explicit_keymap_is_reported() {
        let settings = load(None, None, Some(Path::new("/nonexistent/keys.toml")));
        assert!(
            settings.warnings[0].starts_with("/nonexistent/keys.toml: cannot read keymap: "),
            "{:?}",
            settings.warnings
        );
    }

    #[test]
    fn unreadable_files_never_hang_the_console() {
        let dir = tempfile::tempdir().unwrap();
        // A theme flag naming a device: the console does not start.
        let e = Settings::load(Some(dir.path()), Some("/dev/zero"), None, None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/dev/zero: cannot read theme: it is a character device"),
            "{e}"
        );
        // The same in the config file, and a keymap that is a device: warnings.
        std::fs::write(
            dir.path().join("config.toml"),
            "[tui]\ntheme = \"/dev/zero\"\n",
        )
        .unwrap();
        let settings = load(Some(dir.path()), None, Some(Path::new("/dev/zero")));
        assert_eq!(settings.theme.name, "dark");
        assert_eq!(settings.warnings.len(), 2, "{:?}", settings.warnings);
        assert!(settings.warnings[0].starts_with("/dev/zero: cannot read theme"));
        assert!(settings.warnings[1].starts_with("/dev/zero: cannot read keymap"));
    }
}
